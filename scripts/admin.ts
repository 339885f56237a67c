// `npm run admin -- <command>`: accounts, robots, grants, public repositories and signing keys
// (docs/access-control.md). Works on the database the configuration names (MERIDIAN_DATA_DIR,
// MERIDIAN_CONFIG, DATABASE_URL), beside a running origin or without one.
//
//   user create <name> [--admin] [--password-stdin]   prints a generated password once
//   user passwd <name> [--password-stdin]              a new password (robots: a new secret)
//   user disable|enable|delete <name>
//   robot create <namespace> <name>                    robot <namespace>+<name>; prints its secret once
//   grant <account> <repository|namespace/*> <actions> actions: pull,push,delete,admin (replaces)
//   revoke <account> <repository|namespace/*>
//   public <repository> | private <repository>
//   list [--json]
//   rotate-key
//
// Exit status: 0 done, 1 refused (no such account, name taken, bad value), 2 usage or
// configuration error. Secrets go to stdout once; nothing here logs one.

import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { openDatabase, closeDatabase, type Db } from '../db/client.ts'
import { isOciError } from '../oci/errors.ts'
import {
  createRobot, createUser, describeAccess, grant, removeAccount, resetSecret, revoke, rotateKey, setDisabled, setPublic,
  type AccountView, type IssuedSecret,
} from '../origin/auth/access-admin.ts'
import { createKeyStore } from '../origin/auth/signing-keys.ts'
import { configOrExit } from './cli.ts'

export interface AdminIo {
  db: Db
  /** Token lifetime, for how long a rotated-out key keeps verifying. */
  tokenSeconds: number
  out: (text: string) => void
  err: (text: string) => void
  /** The whole of standard input (for --password-stdin). */
  readStdin: () => Promise<string>
}

const USAGE = `usage: npm run admin -- <command>
  user create <name> [--admin] [--password-stdin]
  user passwd <name> [--password-stdin]
  user disable|enable|delete <name>
  robot create <namespace> <name>
  grant <account> <repository|namespace/*> <actions>   (actions: pull,push,delete,admin)
  revoke <account> <repository|namespace/*>
  public <repository>
  private <repository>
  list [--json]
  rotate-key
`

class UsageError extends Error {}

/** Runs one command; returns the exit status. */
export async function runAdmin(argv: string[], io: AdminIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv, allowPositionals: true, strict: true,
      options: { admin: { type: 'boolean' }, 'password-stdin': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    })
    if (values.help || positionals.length === 0) {
      io.out(USAGE)
      return positionals.length === 0 && !values.help ? 2 : 0
    }
    await dispatch(positionals, values, io)
    return 0
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`${(err as Error).message}\n${USAGE}`)
      return 2
    }
    if (isOciError(err)) {
      io.err(`refused: ${err.message}\n`)
      return 1
    }
    throw err
  }
}

type Flags = { admin?: boolean; 'password-stdin'?: boolean; json?: boolean }

async function dispatch(args: string[], flags: Flags, io: AdminIo): Promise<void> {
  const [command, ...rest] = args
  const want = (n: number, form: string): string[] => {
    if (rest.length !== n) throw new UsageError(`${command} wants: ${form}`)
    return rest
  }
  const password = async (): Promise<string | undefined> => (flags['password-stdin'] ? (await io.readStdin()).replace(/\r?\n$/, '') : undefined)
  switch (command) {
    case 'user': {
      const [verb, name, ...extra] = rest
      if (name === undefined || extra.length > 0) throw new UsageError('user wants: create|passwd|disable|enable|delete <name>')
      if (verb === 'create') return printIssued(io, `created user ${name}${flags.admin ? ' (admin)' : ''}`, await createUser(io.db, name, { admin: flags.admin, password: await password() }), flags)
      if (verb === 'passwd') return printIssued(io, `new secret for ${name}`, await resetSecret(io.db, name, await password()), flags)
      if (verb === 'disable' || verb === 'enable') {
        await setDisabled(io.db, name, verb === 'disable')
        return io.out(`${verb}d ${name}${verb === 'disable' ? ' (tokens it already holds expire within their lifetime)' : ''}\n`)
      }
      if (verb === 'delete') {
        await removeAccount(io.db, name)
        return io.out(`deleted ${name} and its grants\n`)
      }
      throw new UsageError(`unknown user command "${verb}"`)
    }
    case 'robot': {
      const [verb, namespace, name, ...extra] = rest
      if (verb !== 'create' || namespace === undefined || name === undefined || extra.length > 0) throw new UsageError('robot wants: create <namespace> <name>')
      return printIssued(io, `created robot ${namespace}+${name} (grant it what it needs)`, await createRobot(io.db, namespace, name), flags)
    }
    case 'grant': {
      const [account, target, actions] = want(3, 'grant <account> <repository|namespace/*> <actions>')
      const view = await grant(io.db, account!, target!, actions!)
      return io.out(`${account} may now ${view.grants.find((g) => g.target === target)?.actions.join(',')} on ${target}\n`)
    }
    case 'revoke': {
      const [account, target] = want(2, 'revoke <account> <repository|namespace/*>')
      await revoke(io.db, account!, target!)
      return io.out(`revoked ${account}'s grant on ${target}\n`)
    }
    case 'public':
    case 'private': {
      const [repository] = want(1, `${command} <repository>`)
      const result = await setPublic(io.db, repository!, command === 'public')
      return io.out(`${repository} is ${command}${result.changed ? '' : ' (it already was)'}\n`)
    }
    case 'list': {
      want(0, 'list [--json]')
      const all = await describeAccess(io.db)
      return io.out(flags.json ? `${JSON.stringify(all, null, 2)}\n` : formatList(all.accounts, all.publicRepositories))
    }
    case 'rotate-key': {
      want(0, 'rotate-key')
      const { kid, retired, signsAt } = await rotateKey(createKeyStore(io.db, { tokenSeconds: io.tokenSeconds }))
      return io.out(`new signing key ${kid}${retired ? `; ${retired} verifies until its last token expires` : ''}\nit signs from ${signsAt}\n`)
    }
    default:
      throw new UsageError(`unknown command "${command}"`)
  }
}

function printIssued(io: AdminIo, headline: string, issued: IssuedSecret, flags: Flags): void {
  // A password the operator typed in is theirs already: never echo it back.
  if (flags['password-stdin']) return io.out(`${headline}\n`)
  io.out(`${headline}\nsecret (shown once, store it now): ${issued.secret}\n`)
}

function formatList(accounts: AccountView[], publicRepositories: string[]): string {
  const lines: string[] = []
  for (const a of accounts) {
    const tags = [a.kind, a.isAdmin ? 'admin' : '', a.disabled ? 'disabled' : ''].filter(Boolean).join(', ')
    lines.push(`${a.name} (${tags})`)
    for (const g of a.grants) lines.push(`  ${g.target}: ${g.actions.join(',')}`)
  }
  if (accounts.length === 0) lines.push('no accounts')
  lines.push(`public repositories: ${publicRepositories.length ? publicRepositories.join(', ') : 'none'}`)
  return lines.join('\n') + '\n'
}

async function readAll(stream: NodeJS.ReadStream): Promise<string> {
  let text = ''
  stream.setEncoding('utf8')
  for await (const chunk of stream) text += chunk as string
  return text
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const config = configOrExit()
  if (!config.auth.enabled) process.stderr.write('note: access control is off (MERIDIAN_AUTH=off): these settings take effect once it is on\n')
  const db = await openDatabase(config.databaseUrl)
  const status = await runAdmin(process.argv.slice(2), {
    db, tokenSeconds: config.auth.tokenSeconds,
    out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), readStdin: () => readAll(process.stdin),
  }).finally(() => closeDatabase(db))
  process.exitCode = status
}
