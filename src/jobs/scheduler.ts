import type { SettingValues } from '../config/settingReader.js';
import { nextOccurrence, parseNcrontab } from '../config/ncrontab.js';
import { systemClock, type Clock, type Logger } from '../credentials/index.js';
import type { App } from '../app.js';
import { timers, type TimerJob } from './timers.js';

/**
 * The timers as the local host (`npm start`) runs them: each job of jobs/timers.ts on its own NCRONTAB schedule (the
 * one the Functions host registers), never on start-up, one run of a timer at a time (an occurrence that comes while
 * the timer's last run still runs is skipped, with a warning), and a timer disabled by the app setting
 * `AzureWebJobs.<name>.Disabled=true`, as the Functions host disables one. A run that fails (it logged its own line and
 * rejected) is recorded as failed, and the timer goes on to its next occurrence.
 *
 * The clock is looked at every `pollMs` while waiting, not only when the next occurrence should have come: a clock
 * that jumps (a laptop waking up, a test's clock moved ahead) is followed within that time.
 */
export interface SchedulerOptions {
  app: App;
  logger: Logger;
  /** The configured values: the schedules and the `AzureWebJobs.<name>.Disabled` switches. */
  values: SettingValues;
  jobs?: readonly TimerJob[];
  clock?: Clock;
  /** How often the clock is looked at while waiting (default 1000 ms). */
  pollMs?: number;
}

export interface RunningTimers {
  /** The timers that run, with their next occurrence (the disabled ones are not listed). */
  readonly next: ReadonlyMap<string, Date | undefined>;
  /** No further run starts; resolves once the runs in progress have ended. */
  stop(): Promise<void>;
}

/** `AzureWebJobs.<name>.Disabled`: the Functions host's switch for one function (true/1 disables it). */
export function timerDisabled(values: SettingValues, name: string): boolean {
  const value = values[`AzureWebJobs.${name}.Disabled`]?.trim().toLowerCase();
  return value === 'true' || value === '1';
}

export function startTimers(options: SchedulerOptions): RunningTimers {
  const clock = options.clock ?? systemClock;
  const pollMs = options.pollMs ?? 1000;
  const next = new Map<string, Date | undefined>();
  const handles = new Set<ReturnType<typeof setTimeout>>();
  const runs = new Set<Promise<void>>();
  let stopped = false;

  for (const job of options.jobs ?? timers) {
    if (timerDisabled(options.values, job.name)) {
      options.logger.info('timer disabled by its setting', { timer: job.name, setting: `AzureWebJobs.${job.name}.Disabled` });
      continue;
    }
    // Every job's schedule function answers a valid schedule (a bad setting falls back, and the run then refuses).
    const schedule = parseNcrontab(job.schedule(options.values));
    if (schedule === undefined) throw new Error(`${job.name}: its schedule is not NCRONTAB`);
    let running: Promise<void> | undefined;
    next.set(job.name, nextOccurrence(schedule, clock.now()));

    const wait = (): void => {
      const due = next.get(job.name);
      if (stopped || due === undefined) return;
      const handle = setTimeout(() => {
        handles.delete(handle);
        tick();
      }, Math.max(0, Math.min(pollMs, due.getTime() - clock.now().getTime())));
      handles.add(handle);
    };
    const tick = (): void => {
      const due = next.get(job.name);
      const now = clock.now();
      if (stopped || due === undefined) return;
      if (now.getTime() >= due.getTime()) {
        next.set(job.name, nextOccurrence(schedule, now));
        if (running !== undefined) {
          options.logger.warn('timer run skipped: its previous run is still running', { timer: job.name, scheduledFor: due.toISOString() });
        } else {
          const run = runOnce(job, due).finally(() => {
            running = undefined;
            runs.delete(run);
          });
          running = run;
          runs.add(run);
        }
      }
      wait();
    };
    wait();
  }

  async function runOnce(job: TimerJob, due: Date): Promise<void> {
    const started = Date.now();
    try {
      await job.run(options.app, options.logger);
    } catch (error) {
      // The run logged why (one line); this is the host's record of a failed run, as the Functions host keeps one.
      options.logger.warn('timer run failed', { timer: job.name, scheduledFor: due.toISOString(), ms: Date.now() - started, error: error instanceof Error ? error.name : 'unknown' });
    }
  }

  return {
    next,
    stop: async () => {
      stopped = true;
      for (const handle of handles) clearTimeout(handle);
      handles.clear();
      await Promise.allSettled([...runs]);
    },
  };
}
