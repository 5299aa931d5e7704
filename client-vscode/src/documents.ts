/** The read-only Markdown documents the extension opens (an ask's answer, a plan, the
 * context): served under the scheme `agentls-doc`, so they are never dirty (an untitled
 * buffer with text asks "Save changes?" when closed, and again for each one when the
 * window closes) and are no documents of the server's (it is sent `file` and `untitled`
 * documents, as ones it may edit). */

import * as vscode from "vscode";

export const DOC_SCHEME = "agentls-doc";
/** The newest documents' texts are kept (a document closed and reopened shows its text). */
const KEEP = 50;

const texts = new Map<string, string>();
let opened = 0;

export function registerDocuments(): vscode.Disposable {
  return vscode.workspace.registerTextDocumentContentProvider(DOC_SCHEME, {
    provideTextDocumentContent: (uri) => texts.get(uri.toString()) ?? "",
  });
}

/** A new document's URI for this Markdown text, named after its first line. */
export function documentUri(content: string): vscode.Uri {
  opened += 1;
  const first = (content.split("\n", 1)[0] ?? "").replace(/^#+\s*/, "");
  const name = first.replace(/[^\p{L}\p{N} _.,:-]+/gu, " ").replace(/:/g, " -").trim().slice(0, 60) || "agentls";
  const uri = vscode.Uri.from({ scheme: DOC_SCHEME, path: `/${opened}/${name}.md` });
  texts.set(uri.toString(), content);
  for (const key of texts.keys()) {
    if (texts.size <= KEEP) {
      break;
    }
    texts.delete(key);
  }
  return uri;
}

/** Opens the text beside the editor (Markdown by the `.md` of its name). */
export async function openMarkdown(content: string): Promise<void> {
  const document = await vscode.workspace.openTextDocument(documentUri(content));
  await vscode.window.showTextDocument(document, { viewColumn: vscode.ViewColumn.Beside, preview: true });
}
