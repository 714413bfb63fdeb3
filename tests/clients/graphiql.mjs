// GraphiQL in headless Chromium (Debian's) with every request to a host other than 127.0.0.1
// aborted: opens PAGE_URL, the documentation explorer and its Query type; prints
// {"blocked": [urls], "fields": [Query's field names], "errors": [page errors]}.
import { confined, launch } from "./browser.mjs";

const [pageUrl, executablePath] = process.argv.slice(2);
const browser = await launch(executablePath);
const blocked = [];
const errors = [];
let fields = [];
try {
  const context = await confined(browser, (url) => url.hostname === "127.0.0.1", blocked);
  const page = await context.newPage();
  page.on("pageerror", (error) => errors.push(String(error)));
  page.setDefaultTimeout(30000);
  await page.goto(pageUrl, { waitUntil: "load" });
  await page.locator(".graphiql-container").first().waitFor();
  await page.getByRole("button", { name: /documentation explorer/i }).click();
  await page.locator(".graphiql-doc-explorer-type-name", { hasText: /^Query$/ }).first().click();
  const names = page.locator(".graphiql-doc-explorer-field-name");
  await names.first().waitFor();
  fields = await names.allInnerTexts();
} catch (error) {
  errors.push(String(error));
} finally {
  await browser.close();
}
console.log(JSON.stringify({ blocked, fields, errors }));
