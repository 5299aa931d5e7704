import { describe, expect, it } from "vitest";
import { MessageType, type MessageActionItem } from "vscode-languageserver-protocol";
import { type MessageUi, ServerMessages } from "../src/messages";

/** `pick`: the answer, from the actions shown (default: the first). */
function ui(
  pick: (actions: MessageActionItem[]) => MessageActionItem | undefined = (actions) => actions[0],
): MessageUi & { shown: string[]; details: (string | undefined)[]; documents: string[] } {
  const shown: string[] = [];
  const details: (string | undefined)[] = [];
  const documents: string[] = [];
  return {
    shown,
    details,
    documents,
    show(_type: MessageType, message: string, actions: MessageActionItem[], detail?: string) {
      shown.push(message);
      details.push(detail);
      return Promise.resolve(pick(actions));
    },
    openMarkdown(content: string) {
      documents.push(content);
      return Promise.resolve();
    },
  };
}

describe("the server's messages", () => {
  it("shows a message at once when no ask runs", () => {
    const view = ui();
    new ServerMessages(view).show({ type: MessageType.Info, message: "agentls: done" });
    expect(view.shown).toEqual(["agentls: done"]);
  });

  it("drops an ask run's answer (the client opens it) and shows the other messages after the run", () => {
    const view = ui();
    const messages = new ServerMessages(view);
    messages.askStarted();
    messages.show({ type: MessageType.Info, message: "agentls: other task done" });
    messages.show({ type: MessageType.Info, message: "agentls: It adds." });
    messages.show({ type: MessageType.Error, message: "agentls: boom" });
    expect(view.shown).toEqual(["agentls: boom"]);
    messages.askEnded("It adds.");
    expect(view.shown).toEqual(["agentls: boom", "agentls: other task done"]);
  });

  it("shows the held answer when the ask run did not end done", () => {
    const view = ui();
    const messages = new ServerMessages(view);
    messages.askStarted();
    messages.show({ type: MessageType.Info, message: "agentls: Cancelled." });
    messages.askEnded(undefined);
    expect(view.shown).toEqual(["agentls: Cancelled."]);
  });

  it("opens a plan to approve as Markdown and asks with the server's buttons", async () => {
    const view = ui();
    const answer = await new ServerMessages(view).request({
      type: MessageType.Info,
      message: "agentls plan:\n1. read\n2. change",
      actions: [{ title: "Approve plan" }, { title: "Reject" }],
    });
    expect(view.documents).toEqual(["# Plan\n\n1. read\n2. change\n"]);
    expect(view.shown).toEqual(["agentls: carry out this plan (opened beside)?"]);
    expect(answer).toEqual({ title: "Approve plan" });
  });

  // As server/agentls/policy/approval.py and lsp/agent_run.py word an edit's approval.
  const approval = "agentls task t1 wants to edit notes.py:\n@@ -1 +1 @@\n-x = 1\n+    x = 2\n(end of the diff).";
  const buttons = [{ title: "Allow once" }, { title: "Allow for this task" }, { title: "Deny" }];

  it("asks a question of several lines with its first line as the message and the rest as the detail", async () => {
    const view = ui((actions) => actions[1]);
    const answer = await new ServerMessages(view).request({ type: MessageType.Info, message: approval, actions: buttons });
    expect(view.shown).toEqual(["agentls task t1 wants to edit notes.py:"]);
    expect(view.details).toEqual(["@@ -1 +1 @@\n-x = 1\n+    x = 2\n(end of the diff)."]);
    expect(answer).toEqual({ title: "Allow for this task" });
  });

  it("answers null when the question is dismissed", async () => {
    const view = ui(() => undefined);
    const answer = await new ServerMessages(view).request({ type: MessageType.Info, message: approval, actions: buttons });
    expect(answer).toBeNull();
  });

  it("asks a one-line question as before (no detail, so a notification), a final line break too", async () => {
    const view = ui();
    const messages = new ServerMessages(view);
    const key = "agentls: the workspace's settings would send the API key in $OPENAI_API_KEY to http://127.0.0.1:9";
    for (const message of [key, `${key}\n`, `${key}\r\n \n`]) {
      await messages.request({ type: MessageType.Warning, message, actions: [{ title: "Allow" }, { title: "Keep the old model" }] });
    }
    expect(view.shown).toEqual([key, key, key]);
    expect(view.details).toEqual([undefined, undefined, undefined]);
  });
});
