/**
 * The cli project runs `helmdrill` as a user would, and counts what those runs report ("9 passed,
 * 0 failed"). `--strict` is the policy of the outer run (.ci/run's HELMDRILL_STRICT=1), not of
 * the runs these tests start: under it every scenario of a child run would gain a coverage test
 * and change the counts a test checks. A test that wants strict child runs says so itself.
 */
delete process.env.HELMDRILL_STRICT;
/**
 * Sharding too is the outer run's business: in a GitLab `parallel:` job CI_NODE_INDEX/CI_NODE_TOTAL
 * would make every child `helmdrill run` a shard of its own selection.
 */
delete process.env.CI_NODE_INDEX;
delete process.env.CI_NODE_TOTAL;
delete process.env.HELMDRILL_SHARD_MANIFEST;
