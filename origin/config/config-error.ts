// Thrown once, with every problem found, so an operator fixes a file in one pass instead of one
// restart per typo. Each problem starts with where it is ("locations.eu-s3.params.bucket: required").

export class ConfigError extends Error {
  readonly problems: string[]
  constructor(problems: string[]) {
    const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`
    super(`invalid configuration (${count}):\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}
