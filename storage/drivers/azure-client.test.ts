import { describe, expect, it } from 'vitest'
import { StorageSharedKeyCredential } from '@azure/storage-blob'
import { accountKeyParts, secretsOf, serviceClient } from './azure-client.ts'

// A made-up key (base64, with the padding that makes '=' appear inside a field's value).
const KEY = 'a2V5LWJ5dGVzLWZvci1hLXRlc3Qtb25seS0wMTIzNDU2Nzg5YWJjZGVm=='

describe('accountKeyParts', () => {
  it('takes the blob endpoint as given (azurite, private endpoints)', () => {
    expect(accountKeyParts(`DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;`))
      .toEqual({ accountName: 'devstoreaccount1', accountKey: KEY, endpoint: 'http://127.0.0.1:10000/devstoreaccount1' })
  })

  it('builds the endpoint from the protocol and suffix, https and the public cloud by default', () => {
    expect(accountKeyParts(`DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${KEY};EndpointSuffix=core.chinacloudapi.cn`)?.endpoint)
      .toBe('https://acme.blob.core.chinacloudapi.cn')
    expect(accountKeyParts(`AccountName=acme;AccountKey=${KEY}`)?.endpoint).toBe('https://acme.blob.core.windows.net')
  })

  it('reads field names in any case and ignores spaces around fields', () => {
    expect(accountKeyParts(` accountname = acme ; ACCOUNTKEY=${KEY} ;`)).toEqual({ accountName: 'acme', accountKey: KEY, endpoint: 'https://acme.blob.core.windows.net' })
  })

  it('leaves every other form to the SDK', () => {
    expect(accountKeyParts('BlobEndpoint=https://acme.blob.core.windows.net/;SharedAccessSignature=sv=2024-08-04&sig=abc')).toBeNull()
    expect(accountKeyParts('UseDevelopmentStorage=true')).toBeNull()
    expect(accountKeyParts(`AccountName=acme;AccountKey=`)).toBeNull()
    expect(accountKeyParts('')).toBeNull()
  })
})

describe('serviceClient', () => {
  it('signs with the account key of a connection string, at the endpoint it names', () => {
    const client = serviceClient({ location: 'ap', container: 'c', connectionString: `AccountName=acme;AccountKey=${KEY};BlobEndpoint=http://127.0.0.1:1/acme/` })
    expect(client.url).toBe('http://127.0.0.1:1/acme')
    expect(client.credential).toBeInstanceOf(StorageSharedKeyCredential)
    expect(client.accountName).toBe('acme')
  })
})

describe('secretsOf', () => {
  it('finds the key and the SAS of a connection string', () => {
    expect(secretsOf(`AccountName=acme;AccountKey=${KEY}`)).toEqual([KEY])
    expect(secretsOf('BlobEndpoint=https://x/;SharedAccessSignature=sv=1&sig=abc')).toEqual(['sv=1&sig=abc'])
    expect(secretsOf(undefined)).toEqual([])
  })
})
