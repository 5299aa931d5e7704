/** The server's `window/showMessage` and `window/showMessageRequest`, shown as
 * vscode-languageclient shows them, with two changes:
 * - the answer of an `ask` run is not shown twice: the server sends it as a message (for
 *   editors without a client of their own) and this client opens it as Markdown, so an
 *   Info message that arrives while an ask run is open waits for the run's end and is
 *   dropped when it is that answer;
 * - a plan waiting for approval ("agentls plan:\n<plan>", server/agentls/lsp/agent_run.py)
 *   opens as a Markdown document beside, while the buttons stay in the notification;
 * - a question of several lines (an edit's approval carries its compact diff below the
 *   first line) is asked in a modal dialog: its first line as the message, the rest as the
 *   detail, where the line breaks stay (a notification shows them as spaces). The actions
 *   and the answer are the server's as they are; a dismissed dialog answers null. */

import { MessageType, type MessageActionItem, type ShowMessageParams, type ShowMessageRequestParams } from "vscode-languageserver-protocol";

export const PLAN_PREFIX = "agentls plan:\n";

export interface MessageUi {
  /** With `detail`: a modal dialog with `message` as its title and `detail` below. */
  show(type: MessageType, message: string, actions: MessageActionItem[], detail?: string): PromiseLike<MessageActionItem | undefined>;
  openMarkdown(content: string): PromiseLike<void>;
}

export function answerMessage(answer: string): string {
  return `agentls: ${answer}`;
}

/** A message's first line and the rest (undefined when there is none but blank lines). */
export function splitMessage(message: string): { first: string; detail: string | undefined } {
  const end = message.indexOf("\n");
  if (end < 0) {
    return { first: message, detail: undefined };
  }
  const first = message.slice(0, end).replace(/\r$/, "");
  const detail = message.slice(end + 1).replace(/^(?:[ \t]*\r?\n)+/, "").trimEnd();
  return detail === "" ? { first, detail: undefined } : { first, detail };
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
    const { first, detail } = splitMessage(message);
    return (await this.ui.show(params.type, first, actions, detail)) ?? null;
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
