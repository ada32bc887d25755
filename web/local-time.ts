/**
 * The server writes times in UTC (it does not know the reader's time zone); the browser rewrites
 * each <time data-local="date|datetime"> in the reader's own time zone and language.
 */
export function showLocalTimes(root: ParentNode = document): void {
  const formats: Record<string, Intl.DateTimeFormat> = {
    date: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }),
    datetime: new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }),
  };
  for (const time of root.querySelectorAll<HTMLTimeElement>('time[data-local]')) {
    const format = formats[time.dataset.local ?? ''];
    const at = new Date(time.dateTime);
    if (format && !Number.isNaN(at.getTime())) time.textContent = format.format(at);
  }
}
