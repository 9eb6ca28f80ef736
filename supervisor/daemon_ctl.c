/*
 * The daemon's side of the control socket (control.c frames and serves
 * it): status replies, manual triggers, cancels, and reloads, whose
 * answer is deferred until the load ends (daemon_load.c).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "picoflow/alloc.h"
#include "picoflow/clock.h"
#include "picoflow/ctl.h"
#include "picoflow/log.h"
#include "picoflow/tz.h"
#include "control.h"
#include "daemon_int.h"
#include "engine.h"

static void
status_reply(struct daemon *d, struct ctl_reply *rep)
{
	struct ctl_wf_status	 w;
	struct ctl_run_status	 r;
	struct slot		*s;
	struct drun		*dr;
	unsigned		 i;
	long			 k;

	rep->ok = 1;
	rep->has_status = 1;
	rep->pid = (uint32_t)getpid();
	rep->version = pf_strdup(PF_VERSION);
	rep->started_ms = d->started_ms;
	rep->now_ms = clock_wall_ms();
	rep->config = pf_strdup(d->config);
	rep->stopping = d->stopping;
	rep->tasks_running = engine_running(d->eng);
	rep->max_tasks = d->opts.max_tasks;
	rep->isolation_mode = pf_strdup(engine_isolation_mode(d->eng));
	rep->isolation = pf_strdup(engine_isolation(d->eng));
	rep->namespaces = pf_strdup(engine_namespaces(d->eng));
	for (s = d->slots; s != NULL; s = s->next) {
		memset(&w, 0, sizeof(w));
		w.name = s->name;
		w.file = s->path;
		w.schedule = s->def->wf->schedule;
		w.timezone = s->def->wf->timezone ? s->def->wf->timezone :
		    d->opts.default_tz ? d->opts.default_tz : "UTC";
		w.next_fire_ms = s->armed_for >= 0 && !d->stopping ?
		    s->armed_for * 1000 : -1;
		w.last_fire_ms = s->last_fire >= 0 ? s->last_fire * 1000 : -1;
		w.running = s->nrunning;
		w.queued = s->qlen;
		w.fires = s->nfires;
		w.skips = s->nskips;
		w.error = s->error;
		w.overlap = (uint8_t)s->def->wf->overlap;
		if (ctl_reply_add_wf(rep, &w) == -1)
			break;
	}
	for (dr = d->runs; dr != NULL; dr = dr->next) {
		if (dr->run_id < 0)
			continue;
		memset(&r, 0, sizeof(r));
		r.run_id = dr->run_id;
		r.workflow = dr->name;
		r.trigger = dr->trigger;
		r.started_ms = dr->started_ms;
		r.scheduled_ms = dr->scheduled_s >= 0 ? dr->scheduled_s * 1000 :
		    -1;
		k = engine_run_running(d->eng, dr->run_id);
		r.tasks_running = k > 0 ? (uint32_t)k : 0;
		if (ctl_reply_add_run(rep, &r) == -1)
			break;
	}
	for (i = 0; i < d->nerrors; i++)
		(void)ctl_reply_add_error(rep,
		    d->errors[(d->errhead + i) % DAEMON_ERRORS_KEPT]);
}

void
daemon_on_request(void *arg, const struct ctl_request *req,
    struct ctl_reply *rep)
{
	struct daemon		*d = arg;
	struct slot		*s;
	char			 msg[PF_ERR_MAX + 128];
	uint64_t		 serial;
	int64_t			 id;
	int			 rc;

	log_debug("control: %s", ctl_cmd_name(req->cmd));
	switch (req->cmd) {
	case CTL_CMD_STATUS:
		status_reply(d, rep);
		return;
	case CTL_CMD_TRIGGER:
		if (d->stopping) {
			snprintf(msg, sizeof(msg), "the supervisor is stopping");
			break;
		}
		if ((s = slot_by_name(d, req->workflow)) == NULL) {
			snprintf(msg, sizeof(msg), "no workflow named '%s' is "
			    "loaded", req->workflow);
			break;
		}
		rc = slot_fire(s, -1, "manual", &id, msg, sizeof(msg));
		rep->ok = rc == 0;
		rep->run_id = id;
		break;
	case CTL_CMD_CANCEL:
		if (engine_cancel_run(d->eng, req->run_id, "cancelled on "
		    "request") == -1) {
			snprintf(msg, sizeof(msg), "run %" PRId64 " is not in "
			    "progress here (or is being cancelled already)",
			    req->run_id);
			break;
		}
		log_info("run %" PRId64 ": cancelled on request", req->run_id);
		snprintf(msg, sizeof(msg), "cancelling run %" PRId64,
		    req->run_id);
		rep->ok = 1;
		rep->run_id = req->run_id;
		break;
	case CTL_CMD_RELOAD:
		if (d->stopping) {
			snprintf(msg, sizeof(msg), "the supervisor is stopping");
			break;
		}
		/* Answered when the load ends (reload_end). */
		if ((serial = control_defer(d->ctl)) == 0 ||
		    daemon_reload_wait(d, serial) == -1) {
			snprintf(msg, sizeof(msg), "too many reloads waiting");
			break;
		}
		daemon_reload_start(d);
		return;
	default:
		snprintf(msg, sizeof(msg), "unknown command");
		break;
	}
	rep->message = pf_strdup(msg);
}
