import { randomInt } from 'node:crypto';

/**
 * Number matching: the desktop shows a two-digit number, the phone offers it among three choices.
 * A person approving a request they did not start (push bombing, a relayed QR) has to guess, and a
 * wrong pick cancels the request.
 */
export function drawNumbers(): { number: number; choices: number[] } {
  const picked = new Set<number>();
  while (picked.size < 3) picked.add(randomInt(10, 100));
  const choices = [...picked];
  const number = choices[0];
  for (let i = choices.length - 1; i > 0; i -= 1) {
    const j = randomInt(0, i + 1);
    [choices[i], choices[j]] = [choices[j], choices[i]];
  }
  return { number, choices };
}
