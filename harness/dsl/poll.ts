/** Moved to harness/util/poll.ts (a leaf module every room may import); kept for existing imports. */
export * from "../util/poll.ts";
