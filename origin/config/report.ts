// Collects problems (the configuration is refused) and warnings (it is accepted) while loading.
// Every entry is "<path>: <message>", the path written the way it appears in the file or the
// environment: `locations.eu-s3.params.bucket`, `preference[1]`, `MERIDIAN_ORIGIN_PORT`.

export interface Report {
  problems: string[]
  warnings: string[]
}

export function createReport(): Report {
  return { problems: [], warnings: [] }
}

export function problem(report: Report, path: string, message: string): void {
  report.problems.push(path ? `${path}: ${message}` : message)
}

export function warn(report: Report, path: string, message: string): void {
  report.warnings.push(path ? `${path}: ${message}` : message)
}

/** `at('locations', 'eu-s3')` is `locations.eu-s3`, `at('preference', 1)` is `preference[1]`. */
export function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`
  return path ? `${path}.${key}` : key
}
