import { app as functionsApp, type HttpResponseInit } from '@azure/functions';
import { processApp } from '../app.js';
import { invokeRoute } from '../http/invokeRoute.js';
import { invocationLogger, withInvocationLogger } from '../logging/logging.js';
import { routes } from '../http/routes.js';
import { timers } from '../jobs/timers.js';
import type { HttpResult } from '../http/types.js';

/**
 * What the Functions host loads (package.json "main"). It registers the route table and the timers, nothing else: the sandbox
 * and the local start page are served only by the local host and never exist in Azure.
 */
const service = processApp();

// Validate settings (and open the store) at start-up so a bad setting is in the log before the first request.
void service.state();

for (const route of routes) {
  functionsApp.http(route.name, {
    methods: [...route.methods],
    route: route.route,
    authLevel: route.authLevel,
    // Every line logged while this handler runs, by the handler or by the shared LWA client, access-token service
    // and app, goes through this invocation's context: the host records it at its level with the invocation id.
    handler: async (request, context) => {
      const log = invocationLogger(context);
      return toResponseInit(await withInvocationLogger(log, () => invokeRoute(route, request, { app: service, log })));
    },
  });
}

for (const job of timers) {
  functionsApp.timer(job.name, {
    schedule: job.schedule(process.env),
    runOnStartup: job.runOnStartup,
    // The run's lines, and the shared services' lines while it runs, go through this invocation's context. A run that
    // could not do its work has logged why and rejects (JobFailed): the host records a failed invocation.
    handler: async (_timer, context) => {
      const log = invocationLogger(context);
      await withInvocationLogger(log, () => job.run(service, log));
    },
  });
}

function toResponseInit(result: HttpResult): HttpResponseInit {
  return {
    status: result.status,
    ...(result.headers ? { headers: result.headers } : {}),
    ...(result.cookies ? { cookies: result.cookies } : {}),
    ...(result.body !== undefined ? { body: result.body } : {}),
  };
}
