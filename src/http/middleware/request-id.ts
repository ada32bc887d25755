import type { Middleware } from 'koa';
import { randomId } from '../../ids.js';

export function requestId(): Middleware {
  return async (ctx, next) => {
    const id = randomId(9);
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    await next();
  };
}
