// SPDX-License-Identifier: GPL-2.0
/*
 * A program built against the installed libvmmem-dev, with
 * `pkg-config --cflags --libs vmmem` (pkg/check-packages.sh): two
 * module-allocated regions side by side, a write across their boundary
 * read back, through the ioctls and through the library's mapping.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <linux/vmmem.h>
#include <vmmem.h>

#define MiB (1ULL << 20)

static int fail(const char *what, long ret)
{
	fprintf(stderr, "vmmem-consumer: FAIL: %s: %s\n", what,
		ret < 0 ? strerror((int)-ret) : "unexpected result");
	return 1;
}

int main(void)
{
	char out[8192], in[8192];
	struct vmmem *vm;
	unsigned int i;
	long ret;

	ret = vmmem_open(&vm);
	if (ret)
		return fail("vmmem_open", ret);
	ret = vmmem_api_version(vm);
	if (ret != VMMEM_API_VERSION)
		return fail("vmmem_api_version", ret < 0 ? ret : 0);
	ret = vmmem_add_region(vm, 0, 2 * MiB, NULL, 0, NULL);
	if (ret)
		return fail("vmmem_add_region low", ret);
	ret = vmmem_add_region(vm, 2 * MiB, 2 * MiB, NULL, 0, NULL);
	if (ret)
		return fail("vmmem_add_region high", ret);
	for (i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7 + 3);
	ret = vmmem_write_exact(vm, 2 * MiB - 4096, out, sizeof(out), NULL);
	if (ret)
		return fail("vmmem_write_exact", ret);
	ret = vmmem_read_exact(vm, 2 * MiB - 4096, in, sizeof(in), NULL);
	if (ret || memcmp(in, out, sizeof(in)))
		return fail("vmmem_read_exact", ret);
	memset(in, 0, sizeof(in));
	ret = vmmem_read_direct_exact(vm, 2 * MiB - 4096, in, sizeof(in), NULL);
	if (ret || memcmp(in, out, sizeof(in)))
		return fail("vmmem_read_direct_exact", ret);
	ret = vmmem_read_exact(vm, 4 * MiB - 8, in, 16, NULL);
	if (ret != -ERANGE)
		return fail("read past the end is not -ERANGE", ret);
	vmmem_close(vm);
	printf("vmmem-consumer: OK\n");
	return 0;
}
