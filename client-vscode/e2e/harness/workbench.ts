/** What a user does in the web workbench, through the page: commands from the palette,
 * the quick input, notifications and dialogs and their buttons, the lightbulb, the status bar. */

import * as fs from "node:fs";
import * as path from "node:path";
import type { Locator, Page } from "playwright-core";
import { SCREENSHOTS } from "./paths";

export class Workbench {
  constructor(readonly page: Page) {}

  /** F1, the command's title, Enter: as a user runs "Agent: Set API Key". */
  async runCommand(title: string): Promise<void> {
    // A document opening with focus (an answer, a plan) closes the palette as it opens:
    // then it is opened again.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.page.keyboard.press("Escape"); // whatever menu is open
        await this.page.keyboard.press("F1");
        const input = this.page.locator(".quick-input-widget input");
        await input.waitFor({ state: "visible" });
        await input.fill(`>${title}`, { timeout: 5_000 });
        await this.page
          .locator(".quick-input-widget .monaco-list-row", { hasText: title })
          .filter({ visible: true }) // a row of the list before it was filtered can linger hidden
          .first()
          .waitFor({ state: "visible", timeout: 10_000 });
        break;
      } catch (error) {
        if (attempt === 2) {
          throw error;
        }
      }
    }
    await this.page.keyboard.press("Enter");
  }

  /** Types into the open input box (an instruction, a key) and presses Enter. */
  async answerInput(text: string, screenshot?: string): Promise<void> {
    const input = this.page.locator(".quick-input-widget input");
    await input.waitFor({ state: "visible" });
    await input.fill(text);
    if (screenshot !== undefined) {
      await this.screenshot(screenshot);
    }
    await this.page.keyboard.press("Enter");
    await this.page.locator(".quick-input-widget").waitFor({ state: "hidden" });
  }

  notification(text: string | RegExp): Locator {
    return this.page.locator(".notifications-toasts .notification-toast", { hasText: text });
  }

  /** Clicks a button of the notification that says `text`. */
  async clickNotificationButton(text: string | RegExp, button: string): Promise<void> {
    const toast = this.notification(text).last();
    await toast.waitFor({ state: "visible" });
    await toast.getByRole("button", { name: button, exact: true }).click();
  }

  /** The modal dialog that says `text`: a question of several lines (an edit's approval
   * with its diff) is asked in one (src/messages.ts). */
  dialog(text: string | RegExp): Locator {
    return this.page.locator(".monaco-dialog-box", { hasText: text });
  }

  /** Clicks a button of the dialog that says `text`; waits for the dialog to close. */
  async clickDialogButton(text: string | RegExp, button: string): Promise<void> {
    const dialog = this.dialog(text).last();
    await dialog.waitFor({ state: "visible" });
    await dialog.getByRole("button", { name: button, exact: true }).click();
    await dialog.waitFor({ state: "hidden" });
  }

  async clearNotifications(): Promise<void> {
    await this.page.keyboard.press("Escape");
    await this.page.evaluate(() => undefined);
    await this.runCommand("Notifications: Clear All Notifications");
  }

  statusItem(): Locator {
    return this.page.locator(".statusbar-item", { hasText: /agentls/ }).first();
  }

  /** The editor's text area, focused (the cursor stays where the probe put it). */
  async focusEditor(): Promise<void> {
    await this.runCommand("View: Focus Active Editor Group");
  }

  /** Opens the code action menu at the cursor as a user does: a click on the lightbulb.
   * With `expect`, waits until the menu offers it (the bulb of the line the cursor left
   * can still be there for a moment: then the menu is closed and opened again). */
  async openLightbulb(expect?: string): Promise<Locator> {
    const menu = this.page.locator(".action-widget");
    for (let attempt = 0; ; attempt++) {
      await this.page.waitForTimeout(400); // VS Code asks for code actions after a short delay
      const bulb = this.page.locator(".lightBulbWidget").first();
      await bulb.waitFor({ state: "visible", timeout: 15_000 });
      await bulb.click();
      await menu.waitFor({ state: "visible" });
      if (expect === undefined || (await this.actionTitles(menu)).some((t) => t.startsWith(expect)) || attempt === 5) {
        return menu;
      }
      await this.page.keyboard.press("Escape");
      await menu.waitFor({ state: "hidden" });
    }
  }

  /** Picks the action whose title starts with `title` from the open code action menu, with
   * the arrow keys and Enter (the menu's rows do not take Playwright's pointer actions). */
  async pickAction(menu: Locator, title: string): Promise<void> {
    const labels: (readonly [string, boolean])[] = [];
    for (const row of await menu.locator(".monaco-list-row.action").all()) {
      const classes = (await row.getAttribute("class")) ?? "";
      labels.push([(await row.getAttribute("aria-label")) ?? "", classes.split(" ").includes("focused")]);
    }
    const wanted = labels.findIndex(([label]) => label.startsWith(title));
    if (wanted < 0) {
      throw new Error(`no action "${title}" in the menu: ${labels.map(([label]) => label).join(" | ")}`);
    }
    const focused = Math.max(0, labels.findIndex(([, isFocused]) => isFocused));
    const key = wanted > focused ? "ArrowDown" : "ArrowUp";
    for (let i = 0; i < Math.abs(wanted - focused); i++) {
      await this.page.keyboard.press(key);
    }
    await menu.locator(".monaco-list-row.action.focused", { hasText: title }).waitFor();
    await this.page.keyboard.press("Enter");
    await menu.waitFor({ state: "hidden" });
  }

  /** The titles of the actions in the open code action menu. */
  async actionTitles(menu: Locator): Promise<string[]> {
    const rows = await menu.locator(".monaco-list-row.action").all();
    return Promise.all(rows.map(async (row) => (await row.getAttribute("aria-label")) ?? ""));
  }

  /** A picture of the bottom of the window: the status bar and what is above it. */
  async screenshotBottom(name: string, height = 160): Promise<void> {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const size = this.page.viewportSize() ?? { width: 1280, height: 760 };
    await this.page.screenshot({
      path: path.join(SCREENSHOTS, `${name}.png`),
      clip: { x: 0, y: size.height - height, width: size.width, height },
    });
  }

  /** A picture of the window, into SCREENSHOTS (or `dir`: failures stay in e2e/out). */
  async screenshot(name: string, dir: string = SCREENSHOTS): Promise<void> {
    fs.mkdirSync(dir, { recursive: true });
    await this.page.screenshot({ path: path.join(dir, `${name}.png`) });
  }
}
