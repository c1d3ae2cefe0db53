/**
 * One HTTP request and its response, on node:http and node:https directly.
 * The registry client needs little of fetch: no redirects (it follows them
 * itself), no decompression, no cookies. node-fetch cost about a quarter of
 * a pull of small layers just to load (its module tree is large), which is
 * what this replaces.
 */
import type {Agent, IncomingMessage} from 'node:http'
import type {Readable} from 'node:stream'

export interface ExchangeInit {
  method: string
  headers: Record<string, string>
  body?: Buffer | Readable
  agent: Agent
}

/** The parts of a fetch Response the registry code uses. */
export class RegistryResponse {
  readonly headers: {get(name: string): string | null}

  constructor(readonly url: string, private readonly message: IncomingMessage) {
    this.headers = {
      get: name => {
        const value = message.headers[name.toLowerCase()]
        if (value === undefined) return null
        return Array.isArray(value) ? value.join(', ') : String(value)
      },
    }
  }

  get status(): number {
    return this.message.statusCode ?? 0
  }

  get statusText(): string {
    return this.message.statusMessage ?? ''
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300
  }

  /** The body as it arrives; an early end of the connection is an error on it. */
  get body(): Readable {
    return this.message
  }

  async buffer(): Promise<Buffer> {
    const chunks: Buffer[] = []
    for await (const chunk of this.message) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks)
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = await this.buffer()
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer
  }

  async text(): Promise<string> {
    return (await this.buffer()).toString('utf8')
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text())
  }
}

/** Send one request; resolves once the response's head has arrived. */
export async function exchange(url: URL, init: ExchangeInit): Promise<RegistryResponse> {
  const {request} = url.protocol === 'https:' ? await import('node:https') : await import('node:http')
  const headers: Record<string, string> = {...init.headers}
  const hasLength = Object.keys(headers).some(name => name.toLowerCase() === 'content-length')
  if (Buffer.isBuffer(init.body) && !hasLength) headers['Content-Length'] = String(init.body.length)
  return new Promise((resolve, reject) => {
    const req = request(url, {method: init.method, headers, agent: init.agent}, message => resolve(new RegistryResponse(url.toString(), message)))
    req.on('error', reject)
    const body = init.body
    if (body === undefined) req.end()
    else if (Buffer.isBuffer(body)) req.end(body)
    else {
      body.on('error', err => req.destroy(err))
      body.pipe(req)
    }
  })
}
