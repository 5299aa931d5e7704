import { describe, expect, it } from "vitest";
import { MessageType, type MessageActionItem } from "vscode-languageserver-protocol";
import { type MessageUi, ServerMessages } from "../src/messages";

function ui(): MessageUi & { shown: string[]; documents: string[] } {
  const shown: string[] = [];
  const documents: string[] = [];
  return {
    shown,
    documents,
    show(_type: MessageType, message: string, actions: MessageActionItem[]) {
      shown.push(message);
      return Promise.resolve(actions[0]);
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
});
