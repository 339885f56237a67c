// Swift temp URLs (the tempurl middleware): GET links that need no token, signed with the
// account's `X-Account-Meta-Temp-URL-Key` (or a container's `X-Container-Meta-Temp-URL-Key`),
// HMAC-SHA256 over `<method>\n<expires>\n<path>` and valid until `expires`. What lets an origin or
// an edge redirect a pull to Swift as to S3. Portable: WebCrypto.

export interface TempUrlOptions {
  /** The account URL, `https://swift.example/v1/AUTH_<project>`. */
  storageUrl: string
  /** `/<container>/<object>`, encoded as in the request URL. */
  objectPath: string
  key: string
  /** Unix seconds. */
  expires: number
  method?: 'GET' | 'HEAD'
}

export async function swiftTempUrl({ storageUrl, objectPath, key, expires, method = 'GET' }: TempUrlOptions): Promise<string> {
  const url = new URL(storageUrl.replace(/\/+$/, '') + objectPath)
  // The middleware signs the decoded path it receives (PATH_INFO), not its encoded spelling.
  const body = `${method}\n${expires}\n${decodeURIComponent(url.pathname)}`
  const hmacKey = await crypto.subtle.importKey('raw', new TextEncoder().encode(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
  const signature = new Uint8Array(await crypto.subtle.sign('HMAC', hmacKey, new TextEncoder().encode(body)))
  url.search = `temp_url_sig=${[...signature].map((b) => b.toString(16).padStart(2, '0')).join('')}&temp_url_expires=${expires}`
  return url.toString()
}
