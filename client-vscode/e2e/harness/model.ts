/** The scripted model server of the Python tests (tests/support/model_server.py), started
 * through e2e/model_server.py, and scripted over its control API. */

import { type ChildProcess, spawn } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";
import { CLIENT, ROOT, VENV_PYTHON } from "./paths";

export type Step =
  | { text: string; tokensPerSecond?: number; chunk?: "token" | "char" | "line"; firstByteDelay?: number }
  | { tools: [string, Record<string, unknown>][]; tokensPerSecond?: number }
  | { hang: true }
  | { error: number; times?: number };

export interface ChatMessage {
  role: string;
  content?: unknown;
}

export interface SeenRequest {
  body: { messages: ChatMessage[]; model?: string; [key: string]: unknown };
  authorization: string | null;
}

export class Model {
  private constructor(
    private readonly child: ChildProcess,
    readonly baseUrl: string,
    private readonly controlUrl: string,
  ) {}

  static async start(): Promise<Model> {
    const child = spawn(VENV_PYTHON, [path.join(CLIENT, "e2e", "model_server.py")], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "inherit"],
    });
    const first = await new Promise<string>((resolve, reject) => {
      const lines = readline.createInterface({ input: child.stdout });
      lines.once("line", resolve);
      child.once("exit", (code) => reject(new Error(`model_server.py exited with ${code}`)));
      child.once("error", reject);
    });
    const { baseUrl, controlUrl } = JSON.parse(first) as { baseUrl: string; controlUrl: string };
    return new Model(child, baseUrl, controlUrl);
  }

  private async call(method: "GET" | "POST", route: string, body?: unknown): Promise<unknown> {
    const response = await fetch(this.controlUrl + route, {
      method,
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const value: unknown = await response.json();
    if (!response.ok) {
      throw new Error(`model server ${route}: ${JSON.stringify(value)}`);
    }
    return value;
  }

  async enqueue(...steps: Step[]): Promise<void> {
    await this.call("POST", "/enqueue", steps);
  }

  async requests(): Promise<SeenRequest[]> {
    return (await this.call("GET", "/requests")) as SeenRequest[];
  }

  async clear(): Promise<void> {
    await this.call("POST", "/clear", {});
  }

  stop(): void {
    this.child.stdin?.end();
  }
}

/** All the text of a request's messages, for "did the model see X" checks. */
export function promptText(request: SeenRequest): string {
  return request.body.messages.map((m) => (typeof m.content === "string" ? m.content : JSON.stringify(m.content ?? ""))).join("\n");
}
