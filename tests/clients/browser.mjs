// Debian's Chromium, headless, through playwright-core, for the browser tests.
import { chromium } from "playwright-core";

export function launch(executablePath) {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

// A browser context whose requests reach only URLs that `allowed` accepts; each other one is
// aborted and noted in `blocked` (the test fails on it).
export async function confined(browser, allowed, blocked) {
  const context = await browser.newContext();
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("data:") || allowed(new URL(url))) return route.continue();
    blocked.push(url);
    return route.abort("blockedbyclient");
  });
  return context;
}
