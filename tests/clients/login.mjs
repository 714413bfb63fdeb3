// Sign in on eiso's login page in headless Chromium, as a user of a SPA would: open
// AUTHORIZE_URL, fill the form, submit; prints {"landed": the URL on REDIRECT_ORIGIN the
// browser was sent to, "blocked": [other hosts asked for], "errors": [console errors]}.
import { confined, launch } from "./browser.mjs";

const [authorizeUrl, redirectOrigin, username, password, executablePath] = process.argv.slice(2);
const browser = await launch(executablePath);
const blocked = [];
const errors = [];
let landed = null;
try {
  const eiso = new URL(authorizeUrl).origin;
  const context = await confined(browser, (url) => url.origin === eiso, blocked);
  const page = await context.newPage();
  page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
  page.setDefaultTimeout(30000);
  await page.goto(authorizeUrl);
  await page.fill("input[name=username]", username);
  await page.fill("input[name=password]", password);
  // The redirect to the client is followed by the browser itself (no route sees it): watch
  // for its request; nothing listens there, so the page itself then fails to load.
  const [toClient] = await Promise.all([
    page.waitForRequest((request) => request.url().startsWith(redirectOrigin + "/")),
    page.getByRole("button", { name: /Sign in/ }).click(),
  ]);
  landed = toClient.url();
} catch (error) {
  errors.push(String(error));
} finally {
  await browser.close();
}
console.log(JSON.stringify({ landed, blocked, errors }));
