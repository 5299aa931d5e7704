/** A scripted OpenAI-compatible Chat Completions server on 127.0.0.1 (the Node twin of
 * tests/support/model_server.py, streaming only): each `POST /v1/chat/completions`
 * takes the next scripted reply and streams it as SSE `chat.completion.chunk` lines,
 * then `data: [DONE]`, or hangs. It records each request's headers and body. */

import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface ToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

export interface ModelRequest {
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** True once the client closed the connection before the reply ended. */
  aborted: boolean;
}

/** A reply: the tool calls of one assistant turn, or "hang" (never answer). */
export type Reply = ToolCall[] | "hang";

export class ScriptedModelServer {
  readonly requests: ModelRequest[] = [];
  private readonly queue: Reply[] = [];
  private readonly server = http.createServer((request, response) => void this.handle(request, response));
  private callIds = 0;
  baseUrl = "";

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", resolve);
    });
    const { port } = this.server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}/v1`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** One reply per request, in order. */
  enqueue(...replies: Reply[]): void {
    this.queue.push(...replies);
  }

  private async handle(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) {
      chunks.push(chunk as Buffer);
    }
    if (request.method !== "POST" || request.url !== "/v1/chat/completions") {
      response.writeHead(404, { "Content-Type": "application/json" });
      response.end(JSON.stringify({ error: { message: `no route ${request.method} ${request.url}`, type: "not_found_error" } }));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
    const record: ModelRequest = { headers: request.headers, body, aborted: false };
    this.requests.push(record);
    response.once("close", () => {
      record.aborted = !response.writableFinished;
    });
    const calls = this.queue.shift();
    if (calls === "hang") {
      response.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
      response.flushHeaders();
      return; // until the client goes away (or stop())
    }
    if (calls === undefined || body.stream !== true) {
      response.writeHead(500, { "Content-Type": "application/json" });
      const message = calls === undefined ? "scripted model server: no scripted reply left" : "only stream: true is scripted";
      response.end(JSON.stringify({ error: { message, type: "server_error" } }));
      return;
    }
    const index = this.requests.length - 1;
    const model = typeof body.model === "string" ? body.model : "scripted-model";
    const base = { id: `chatcmpl-scripted-${index}`, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model };
    response.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    const send = (payload: object | string) =>
      response.write(`data: ${typeof payload === "string" ? payload : JSON.stringify({ ...base, ...payload })}\n\n`);
    const choice = (delta: object, finish: string | null = null) => ({ choices: [{ index: 0, delta, finish_reason: finish }] });
    send(choice({ role: "assistant", content: "" }));
    calls.forEach((call, i) => {
      const args = JSON.stringify(call.arguments);
      this.callIds += 1;
      send(choice({ tool_calls: [{ index: i, id: `call_${this.callIds}`, type: "function", function: { name: call.name, arguments: "" } }] }));
      const half = Math.ceil(args.length / 2);
      for (const piece of [args.slice(0, half), args.slice(half)]) {
        send(choice({ tool_calls: [{ index: i, function: { arguments: piece } }] }));
      }
    });
    send(choice({}, "tool_calls"));
    const options = body.stream_options as { include_usage?: boolean } | undefined;
    if (options?.include_usage) {
      send({ choices: [], usage: { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 } });
    }
    send("[DONE]");
    response.end();
  }
}
