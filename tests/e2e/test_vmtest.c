/*
 * scripts/vm-test's choice of accelerator, with a stand-in qemu
 * (tests/fixtures/vm/qemu-system-x86_64) that aborts under KVM as qemu 7.2
 * does on hosts whose /dev/kvm it cannot use, hangs, or boots.  The
 * kernel and initramfs are empty files: the stand-in never reads them.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/proc.h"

struct vmt {
	char			*dir;
	char			*kernel;
	char			*kvm;		/* a readable, writable "device" */
	char			 qlog[4200];	/* accelerators qemu was asked for */
	struct proc_result	 r;
};

static void
vmt_init(struct vmt *v, const char *tag)
{
	memset(v, 0, sizeof(*v));
	v->dir = test_tmpdir(tag);
	cr_assert_not_null(v->dir);
	v->kernel = test_write(v->dir, "vmlinuz", "");
	v->kvm = test_write(v->dir, "kvm", "");
	free(test_write(v->dir, "initrd.gz", ""));
	(void)snprintf(v->qlog, sizeof(v->qlog), "%s/qemu.log", v->dir);
}

static void
vmt_free(struct vmt *v)
{
	proc_result_free(&v->r);
	test_rmrf(v->dir);
	free(v->dir);
	free(v->kernel);
	free(v->kvm);
}

/* Runs scripts/vm-test with accel mode (NULL: unset), kvm device, fake. */
static int
vmt_run(struct vmt *v, const char *mode, const char *kvmdev,
    const char *fake, const char *kvm_boot)
{
	char	 script[4200], suite[4200], e[9][4300];
	char	*env[10], *argv[4];
	int	 n = 0;

	(void)snprintf(script, sizeof(script), "%s/scripts/vm-test",
	    PF_SRC_DIR);
	(void)snprintf(suite, sizeof(suite), "%s/tests/e2e/test_vmtest",
	    PF_BUILD_DIR);
	(void)snprintf(e[n], sizeof(e[n]),
	    "PF_VM_QEMU=%s/tests/fixtures/vm/qemu-system-x86_64", PF_SRC_DIR);
	env[n] = e[n]; n++;
	(void)snprintf(e[n], sizeof(e[n]), "PF_VM_KERNEL=%s", v->kernel);
	env[n] = e[n]; n++;
	(void)snprintf(e[n], sizeof(e[n]), "PF_VM_INITRD=%s/initrd.gz",
	    v->dir);
	env[n] = e[n]; n++;
	(void)snprintf(e[n], sizeof(e[n]), "PF_VM_DIR=%s/vm", v->dir);
	env[n] = e[n]; n++;
	(void)snprintf(e[n], sizeof(e[n]), "PF_VM_KVM_DEV=%s", kvmdev);
	env[n] = e[n]; n++;
	(void)snprintf(e[n], sizeof(e[n]), "PF_FAKE_QEMU_LOG=%s", v->qlog);
	env[n] = e[n]; n++;
	(void)snprintf(e[n], sizeof(e[n]), "PF_FAKE_QEMU_KVM=%s", fake);
	env[n] = e[n]; n++;
	(void)snprintf(e[n], sizeof(e[n]), "PF_VM_ACCEL=%s",
	    mode != NULL ? mode : "");
	env[n] = e[n]; n++;
	(void)snprintf(e[n], sizeof(e[n]), "PF_VM_KVM_BOOT=%s",
	    kvm_boot != NULL ? kvm_boot : "90");
	env[n] = e[n]; n++;
	env[n] = NULL;
	argv[0] = script;
	argv[1] = (char *)PF_BUILD_DIR;
	argv[2] = suite;
	argv[3] = NULL;
	cr_assert_eq(proc_run(argv, env, 60, &v->r), 0);
	cr_assert(!v->r.timed_out, "vm-test did not end:\n%s%s", v->r.out,
	    v->r.err);
	return v->r.exit_code;
}

/* The accelerators the stand-in qemu was started with, in order. */
static char *
vmt_tried(struct vmt *v)
{
	char	*s = test_read(v->qlog, NULL);

	return s != NULL ? s : strdup("");
}

#define VMT_SAYS(v, text) cr_assert(strstr((v)->r.out, (text)) != NULL, \
	"vm-test should say \"%s\":\n%s%s", (text), (v)->r.out, (v)->r.err)

Test(vmtest, broken_kvm_falls_back_to_tcg)
{
	struct vmt	 v;
	char		*tried;

	vmt_init(&v, "vmt-broken");
	cr_assert_eq(vmt_run(&v, NULL, v.kvm, "abort", NULL), 0,
	    "exit %d:\n%s%s", v.r.exit_code, v.r.out, v.r.err);
	tried = vmt_tried(&v);
	cr_assert_str_eq(tried, "kvm\ntcg\n");
	VMT_SAYS(&v, "kvm does not work here (qemu exited 134 before the "
	    "guest booted: qemu-system-x86_64: ");
	VMT_SAYS(&v, "kvm_buf_set_msrs");
	VMT_SAYS(&v, "falling back to tcg");
	VMT_SAYS(&v, "under tcg");
	VMT_SAYS(&v, "PASSED");
	free(tried);
	vmt_free(&v);
}

Test(vmtest, hanging_kvm_falls_back_after_the_boot_limit)
{
	struct vmt	 v;
	char		*tried;

	vmt_init(&v, "vmt-hang");
	cr_assert_eq(vmt_run(&v, "auto", v.kvm, "hang", "2"), 0,
	    "exit %d:\n%s%s", v.r.exit_code, v.r.out, v.r.err);
	tried = vmt_tried(&v);
	cr_assert_str_eq(tried, "kvm\ntcg\n");
	VMT_SAYS(&v, "the guest did not boot within 2 s");
	VMT_SAYS(&v, "PASSED");
	free(tried);
	vmt_free(&v);
}

Test(vmtest, no_kvm_device_uses_tcg_without_trying)
{
	struct vmt	 v;
	char		 missing[4300], *tried;

	vmt_init(&v, "vmt-nokvm");
	(void)snprintf(missing, sizeof(missing), "%s/no-such-kvm", v.dir);
	cr_assert_eq(vmt_run(&v, NULL, missing, "abort", NULL), 0,
	    "exit %d:\n%s%s", v.r.exit_code, v.r.out, v.r.err);
	tried = vmt_tried(&v);
	cr_assert_str_eq(tried, "tcg\n");
	VMT_SAYS(&v, "accelerator: tcg (");
	VMT_SAYS(&v, "is missing or not readable and writable");
	free(tried);
	vmt_free(&v);
}

Test(vmtest, working_kvm_is_used)
{
	struct vmt	 v;
	char		*tried;

	vmt_init(&v, "vmt-kvm");
	cr_assert_eq(vmt_run(&v, NULL, v.kvm, "ok", NULL), 0,
	    "exit %d:\n%s%s", v.r.exit_code, v.r.out, v.r.err);
	tried = vmt_tried(&v);
	cr_assert_str_eq(tried, "kvm\n");
	VMT_SAYS(&v, "accelerator: kvm works");
	VMT_SAYS(&v, "under kvm");
	free(tried);
	vmt_free(&v);
}

Test(vmtest, forced_tcg_never_tries_kvm)
{
	struct vmt	 v;
	char		*tried;

	vmt_init(&v, "vmt-tcg");
	cr_assert_eq(vmt_run(&v, "tcg", v.kvm, "ok", NULL), 0,
	    "exit %d:\n%s%s", v.r.exit_code, v.r.out, v.r.err);
	tried = vmt_tried(&v);
	cr_assert_str_eq(tried, "tcg\n");
	VMT_SAYS(&v, "accelerator: tcg (PF_VM_ACCEL=tcg)");
	free(tried);
	vmt_free(&v);
}

Test(vmtest, forced_kvm_does_not_fall_back)
{
	struct vmt	 v;
	char		*tried;

	vmt_init(&v, "vmt-forced");
	cr_assert_eq(vmt_run(&v, "kvm", v.kvm, "abort", NULL), 3,
	    "exit %d:\n%s%s", v.r.exit_code, v.r.out, v.r.err);
	tried = vmt_tried(&v);
	cr_assert_str_eq(tried, "kvm\n");
	VMT_SAYS(&v, "FAILED: the VM stopped without a result (qemu exit 134)");
	free(tried);
	vmt_free(&v);
}

Test(vmtest, forced_kvm_without_a_device_is_a_setup_error)
{
	struct vmt	 v;
	char		 missing[4300];

	vmt_init(&v, "vmt-forced-missing");
	(void)snprintf(missing, sizeof(missing), "%s/no-such-kvm", v.dir);
	cr_assert_eq(vmt_run(&v, "kvm", missing, "ok", NULL), 2,
	    "exit %d:\n%s%s", v.r.exit_code, v.r.out, v.r.err);
	cr_assert(strstr(v.r.err, "PF_VM_ACCEL=kvm, but") != NULL, "%s",
	    v.r.err);
	vmt_free(&v);
}

Test(vmtest, unknown_accel_is_refused)
{
	struct vmt	 v;

	vmt_init(&v, "vmt-bad");
	cr_assert_eq(vmt_run(&v, "hvf", v.kvm, "ok", NULL), 2,
	    "exit %d:\n%s%s", v.r.exit_code, v.r.out, v.r.err);
	cr_assert(strstr(v.r.err, "PF_VM_ACCEL=hvf: expected auto, kvm or "
	    "tcg") != NULL, "%s", v.r.err);
	vmt_free(&v);
}
