import { defineConfig } from "helmdrill";

export default defineConfig({
  // Every scenario is one file here; lib/ holds what they share.
  scenarios: ["scenarios/*.ts"],
  // fixture("inventory/2.0.0") resolves under charts/.
  charts: "charts",
  // The documented column: what the platform team expects today, not a 2020 write-up.
  baseline: "platform team's expectation",
  // The Helm versions this team runs or is moving to (default: every version helmdrill pins by default).
  targets: { helm: ["3.17.3", "3.18.0", "4.1.4"] },
  reports: "reports",
});
