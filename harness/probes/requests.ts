import {
  wrapHttpLibrary,
  type ApiConstructor,
  type ApiType,
  type Configuration,
  type HttpLibrary,
  type KubeConfig,
  type RequestContext,
} from "@kubernetes/client-node";
import { seconds } from "../util/poll.ts";

/**
 * A hang guard for every API request helmdrill makes through its clients: @kubernetes/client-node
 * sets no timeout of its own, so one request to an API server that stopped answering would wait
 * forever. Polls give each attempt a shorter limit (ATTEMPT_TIMEOUT_MS) and try again; this one
 * bounds everything else — a mutation, discovery, diagnostics — and frees an abandoned request.
 */
export const REQUEST_TIMEOUT_MS = 60_000;

/**
 * The client's HTTP library with a time limit: the request's fetch is aborted after `ms` (or
 * when a signal the request already carries fires), and the error then says which request
 * went unanswered for how long.
 */
export function timedHttpLibrary(inner: HttpLibrary, ms: number): HttpLibrary {
  return wrapHttpLibrary({
    async send(request: RequestContext) {
      const timeout = AbortSignal.timeout(ms);
      const own = request.getSignal();
      request.setSignal(own ? AbortSignal.any([own, timeout]) : timeout);
      try {
        return await inner.send(request).toPromise();
      } catch (error) {
        if (!timeout.aborted) throw error;
        const url = new URL(request.getUrl());
        throw new Error(`${request.getHttpMethod()} ${url.pathname}${url.search}: no answer within ${seconds(ms)}`);
      }
    },
  });
}

/**
 * `kc.makeApiClient(Api)` — the same server, authentication and TLS — whose every request ends
 * within `ms`. (client-node 1.x passes per-call options only to its generated APIs, not to
 * KubernetesObjectApi, so the limit is set on the client's HTTP library, which both use.)
 */
export function timedApiClient<T extends ApiType>(kc: KubeConfig, Api: ApiConstructor<T>, ms = REQUEST_TIMEOUT_MS): T {
  const Timed = function (config: Configuration): T {
    return new Api({ ...config, httpApi: timedHttpLibrary(config.httpApi, ms) });
  } as unknown as ApiConstructor<T>;
  return kc.makeApiClient(Timed);
}
