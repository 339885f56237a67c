// Where a client is (ARCHITECTURE §6 `Locate`): a chain of locators, the first that answers wins.

export interface Position {
  lat: number
  lon: number
  /** Which locator answered ("cf", "header:cloudfront", "mmdb", "home", ...): logged and sent
   * back in the `Meridian-Geo-Source` response header. */
  source: string
}

export interface LocateInput {
  request: Request
  /** The TCP peer's address as the runtime reports it (Hono getConnInfo), or null on Workers. */
  peer: string | null
}

export type Locate = (input: LocateInput) => Position | null | Promise<Position | null>
