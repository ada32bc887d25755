import { z } from 'zod';
import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';

// zod-to-openapi reads its metadata through `.openapi()` on every schema it documents; imported
// before the admin API's schemas are made.
extendZodWithOpenApi(z);
