import { defineConfig } from "helmdrill";

export default defineConfig({
  // Every scenario is one file here; lib/ holds what they share.
  scenarios: ["scenarios/*.ts"],
  // fixture("inventory/2.0.0") resolves under charts/.
  charts: "charts",
  // The documented column: what the platform team expects today, not a 2020 write-up.
  baseline: "platform team's expectation",
  reports: "reports",
});
