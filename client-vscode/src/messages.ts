/** The server's `window/showMessage` and `window/showMessageRequest`, shown as
 * vscode-languageclient shows them, with two changes:
 * - the answer of an `ask` run is not shown twice: the server sends it as a message (for
 *   editors without a client of their own) and this client opens it as Markdown, so an
 *   Info message that arrives while an ask run is open waits for the run's end and is
 *   dropped when it is that answer;
 * - a plan waiting for approval ("agentls plan:\n<plan>", server/agentls/lsp/agent_run.py)
 *   opens as a Markdown document beside, while the buttons stay in the notification. */

import { MessageType, type MessageActionItem, type ShowMessageParams, type ShowMessageRequestParams } from "vscode-languageserver-protocol";

export const PLAN_PREFIX = "agentls plan:\n";

export interface MessageUi {
  show(type: MessageType, message: string, actions: MessageActionItem[]): PromiseLike<MessageActionItem | undefined>;
  openMarkdown(content: string): PromiseLike<void>;
}

export function answerMessage(answer: string): string {
  return `agentls: ${answer}`;
}

export class ServerMessages {
  private asking = 0;
  private held: ShowMessageParams[] = [];

  constructor(private readonly ui: MessageUi) {}

  /** `window/showMessage`. */
  show(params: ShowMessageParams): void {
    if (this.asking > 0 && params.type === MessageType.Info) {
      this.held.push(params);
      return;
    }
    void this.ui.show(params.type, params.message, []);
  }

  /** `window/showMessageRequest`. */
  async request(params: ShowMessageRequestParams): Promise<MessageActionItem | null> {
    const actions = params.actions ?? [];
    let message = params.message;
    if (message.startsWith(PLAN_PREFIX)) {
      await this.ui.openMarkdown(`# Plan\n\n${message.slice(PLAN_PREFIX.length)}\n`);
      message = "agentls: carry out this plan (opened beside)?";
    }
    return (await this.ui.show(params.type, message, actions)) ?? null;
  }

  askStarted(): void {
    this.asking += 1;
  }

  /** The ask run ended; `answer` is its summary when it is done (the client shows it). */
  askEnded(answer: string | undefined): void {
    this.asking = Math.max(0, this.asking - 1);
    if (answer !== undefined) {
      const index = this.held.findIndex((m) => m.message === answerMessage(answer));
      if (index >= 0) {
        this.held.splice(index, 1);
      }
    }
    if (this.asking === 0) {
      const rest = this.held;
      this.held = [];
      for (const params of rest) {
        void this.ui.show(params.type, params.message, []);
      }
    }
  }
}
