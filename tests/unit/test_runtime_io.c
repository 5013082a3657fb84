/* test_runtime_io.c - the runtime's data readers: IDX files (plain and
 * gzip'd, written here with zlib) with every kind of corruption, dataset
 * assembly (scaling, label conversion, count and size mismatches), and
 * .npy files (round trips, format 2.0, bad headers, Fortran order). */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "runtime/dlrt.h"
#include "runtime/rt_data.h"
#include "runtime/rt_idx.h"
#include "runtime/rt_npy.h"
#include "testutil.h"

static char tmpdir[512];

static void make_tmpdir(void) { tu_make_tmpdir(tmpdir, sizeof tmpdir, "rt-io"); }
static void remove_tmpdir(void) { tu_remove_tmpdir(tmpdir); }
static const char *tpath(const char *name) { return tu_path(tmpdir, name); }

/* Writes bytes to path, gzip'd if gz. */
static void write_bytes(const char *path, const void *p, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(gzwrite(f, p, (unsigned)n), (int)n);
        ck_assert_int_eq(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(fwrite(p, 1, n, f), n);
        fclose(f);
    }
}

/* An IDX u8 file of the given dims whose element i is (i * 7 + 3) % 256;
 * `extra` bytes more (or fewer, if negative) than the header announces. */
static void write_idx(const char *path, int rank, const uint32_t *dims, int extra, int gz)
{
    size_t numel = 1;
    for (int k = 0; k < rank; k++) numel *= dims[k];
    size_t n = 4 + 4 * (size_t)rank + numel + (size_t)(extra > 0 ? extra : 0);
    unsigned char *b = calloc(n, 1);
    b[2] = 0x08;
    b[3] = (unsigned char)rank;
    for (int k = 0; k < rank; k++) {
        b[4 + 4 * k] = (unsigned char)(dims[k] >> 24);
        b[5 + 4 * k] = (unsigned char)(dims[k] >> 16);
        b[6 + 4 * k] = (unsigned char)(dims[k] >> 8);
        b[7 + 4 * k] = (unsigned char)dims[k];
    }
    for (size_t i = 0; i < numel; i++) b[4 + 4 * rank + i] = (unsigned char)((i * 7 + 3) % 256);
    write_bytes(path, b, n - (size_t)(extra < 0 ? -extra : 0), gz);
    free(b);
}

/* Asserts that reading path fails with a message containing `want`. */
static void idx_fails(const char *path, const char *want)
{
    dlrt_idx x;
    dlrt_err e;
    ck_assert_int_eq(dlrt_idx_read(path, &x, &e), -1);
    ck_assert_msg(strstr(e.msg, want) != NULL, "message '%s' lacks '%s'", e.msg, want);
    ck_assert_msg(strstr(e.msg, path) != NULL, "message '%s' does not name the file", e.msg);
    ck_assert_ptr_null(x.data);
}

START_TEST(idx_plain_and_gz)
{
    make_tmpdir();
    uint32_t dims[3] = {5, 4, 3};
    for (int gz = 0; gz < 2; gz++) {
        const char *p = tpath(gz ? "a.gz" : "a");
        write_idx(p, 3, dims, 0, gz);
        dlrt_idx x;
        dlrt_err e;
        ck_assert_msg(dlrt_idx_read(p, &x, &e) == 0, "%s", e.msg);
        ck_assert_int_eq(x.rank, 3);
        ck_assert_int_eq(x.dims[0], 5);
        ck_assert_int_eq(x.dims[2], 3);
        ck_assert_int_eq(x.numel, 60);
        for (int i = 0; i < 60; i++) ck_assert_uint_eq(x.data[i], (unsigned)((i * 7 + 3) % 256));
        dlrt_idx_free(&x);
    }
    remove_tmpdir();
}
END_TEST

START_TEST(idx_corruptions)
{
    make_tmpdir();
    uint32_t dims[2] = {10, 6};
    for (int gz = 0; gz < 2; gz++) {
        const char *p = tpath(gz ? "c.gz" : "c");
        write_idx(p, 2, dims, -5, gz);
        idx_fails(p, "truncated");
        write_idx(p, 2, dims, 3, gz);
        idx_fails(p, "trailing garbage");
        uint32_t zero[2] = {10, 0};
        write_idx(p, 2, zero, 0, gz);
        idx_fails(p, "zero");
        unsigned char huge[16] = {0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 2};
        write_bytes(p, huge, 16, gz); /* a header announcing ~2^65 bytes */
        idx_fails(p, "absurd");
        unsigned char bad[8] = {1, 2, 8, 1, 0, 0, 0, 1};
        write_bytes(p, bad, 8, gz);
        idx_fails(p, "bad magic");
        unsigned char f32[9] = {0, 0, 0x0D, 1, 0, 0, 0, 1, 0};
        write_bytes(p, f32, 9, gz);
        idx_fails(p, "element type 0x0D");
        unsigned char rank0[4] = {0, 0, 8, 0};
        write_bytes(p, rank0, 4, gz);
        idx_fails(p, "rank 0");
        unsigned char shorthead[6] = {0, 0, 8, 2, 0, 0};
        write_bytes(p, shorthead, 6, gz);
        idx_fails(p, "truncated IDX header");
        write_bytes(p, "", 0, gz);
        idx_fails(p, "bad magic");
    }
    idx_fails(tpath("does-not-exist"), "cannot open");
    /* a gzip stream cut in the middle */
    {
        const char *g = tpath("cut.gz");
        write_idx(g, 2, dims, 0, 1);
        FILE *f = fopen(g, "rb");
        unsigned char buf[4096];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        write_bytes(g, buf, n - 12, 0);
        dlrt_idx x;
        dlrt_err e;
        ck_assert_int_eq(dlrt_idx_read(g, &x, &e), -1);
        ck_assert_ptr_nonnull(strstr(e.msg, g));
        /* a damaged deflate stream: zlib's message, the file named once */
        buf[n / 2] ^= 0xFF;
        buf[n / 2 + 1] ^= 0xFF;
        write_bytes(g, buf, n, 0);
        ck_assert_int_eq(dlrt_idx_read(g, &x, &e), -1);
        char want[1024];
        snprintf(want, sizeof want, "%s: ", g);
        ck_assert_msg(strncmp(e.msg, want, strlen(want)) == 0 && !strstr(e.msg + strlen(want), g),
                      "'%s' does not name the file exactly once, first", e.msg);
    }
    remove_tmpdir();
}
END_TEST

/* A model description with just what dataset assembly looks at. */
static dlrt_model data_model(int64_t in_size, dlrt_dtype ldt, int64_t lsize)
{
    dlrt_model m;
    memset(&m, 0, sizeof m);
    m.name = "toy";
    m.in_size = in_size;
    m.label_dtype = ldt;
    m.label_size = lsize;
    return m;
}

START_TEST(dataset_assembly)
{
    make_tmpdir();
    uint32_t idims[3] = {6, 2, 2}, ldims[1] = {6};
    write_idx(tpath("train-images-idx3-ubyte.gz"), 3, idims, 0, 1);
    write_idx(tpath("train-labels-idx1-ubyte"), 1, ldims, 0, 0);
    dlrt_model m = data_model(4, DLRT_I32, 1);
    dlrt_dataset ds;
    dlrt_err e;
    ck_assert_msg(dlrt_dataset_load(&m, tmpdir, "train", &ds, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(ds.n, 6);
    for (int i = 0; i < 24; i++) ck_assert_float_eq(dlrt_ds_value(&ds, i), (float)((i * 7 + 3) % 256) / 255.0f);
    const int32_t *y = ds.y;
    for (int i = 0; i < 6; i++) ck_assert_int_eq(y[i], (i * 7 + 3) % 256);
    /* gather: one sample per index, labels along */
    int64_t idx[2] = {4, 1};
    float xb[8];
    int32_t yb[2];
    dlrt_gather(&ds, idx, 2, xb, yb);
    for (int j = 0; j < 4; j++) {
        ck_assert_float_eq(xb[j], dlrt_ds_value(&ds, 16 + j));
        ck_assert_float_eq(xb[4 + j], dlrt_ds_value(&ds, 4 + j));
    }
    /* contiguous rows: the same values */
    float rb[8];
    const float *rows = dlrt_rows(&ds, 1, 2, rb);
    for (int j = 0; j < 8; j++) ck_assert_float_eq(rows[j], dlrt_ds_value(&ds, 4 + j));
    ck_assert_int_eq(yb[0], y[4]);
    ck_assert_int_eq(yb[1], y[1]);
    dlrt_dataset_free(&ds);

    /* sample size differs from the model's input */
    dlrt_model wide = data_model(5, DLRT_I32, 1);
    ck_assert_int_eq(dlrt_dataset_load(&wide, tmpdir, "train", &ds, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "samples of 4 values but model 'toy' takes inputs of 5"));

    /* count mismatch */
    uint32_t l5[1] = {5};
    write_idx(tpath("train-labels-idx1-ubyte"), 1, l5, 0, 0);
    ck_assert_int_eq(dlrt_dataset_load(&m, tmpdir, "train", &ds, &e), -1);
    ck_assert_msg(strstr(e.msg, "has 6 samples but") && strstr(e.msg, "has 5"), "%s", e.msg);

    /* missing files name both spellings */
    ck_assert_int_eq(dlrt_dataset_load(&m, tmpdir, "t10k", &ds, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "t10k-images-idx3-ubyte.gz"));
    remove_tmpdir();
}
END_TEST

START_TEST(dataset_one_hot_labels)
{
    dlrt_idx img = {2, {3, 1}, 3, (uint8_t[]){0, 255, 51}};
    dlrt_idx lab = {1, {3}, 3, (uint8_t[]){2, 0, 1}};
    dlrt_model m = data_model(1, DLRT_F32, 3);
    dlrt_dataset ds;
    dlrt_err e;
    ck_assert_int_eq(dlrt_dataset_from_idx(&m, &img, "img", &lab, "lab", &ds, &e), 0);
    const float *y = ds.y;
    float want[9] = {0, 0, 1, 1, 0, 0, 0, 1, 0};
    ck_assert_mem_eq(y, want, sizeof want);
    ck_assert_float_eq(dlrt_ds_value(&ds, 1), 1.0f);
    ck_assert_float_eq(dlrt_ds_value(&ds, 2), 0.2f);
    dlrt_dataset_free(&ds);
    dlrt_model two = data_model(1, DLRT_F32, 2);
    ck_assert_int_eq(dlrt_dataset_from_idx(&two, &img, "img", &lab, "lab", &ds, &e), -1);
    ck_assert_str_eq(e.msg, "lab: row 0: label 2 is out of range: model 'toy' has 2 classes (labels 0 to 1)");
}
END_TEST

/* Labels are checked against what the model says they may be: class
 * indices below label_classes, binary targets 0 or 1; unchecked when the
 * model says nothing (label_classes 0, label_binary 0). */
START_TEST(dataset_label_range)
{
    dlrt_idx img = {2, {4, 1}, 4, (uint8_t[]){0, 1, 2, 3}};
    dlrt_idx lab = {1, {4}, 4, (uint8_t[]){2, 0, 3, 1}};
    dlrt_dataset ds;
    dlrt_err e;
    dlrt_model m = data_model(1, DLRT_I32, 1);
    m.label_classes = 4;
    ck_assert_int_eq(dlrt_dataset_from_idx(&m, &img, "img", &lab, "lab", &ds, &e), 0);
    dlrt_dataset_free(&ds);
    m.label_classes = 3;
    ck_assert_int_eq(dlrt_dataset_from_idx(&m, &img, "img", &lab, "lab", &ds, &e), -1);
    ck_assert_str_eq(e.msg, "lab: row 2: label 3 is out of range: model 'toy' has 3 classes (labels 0 to 2)");
    ck_assert_ptr_null(ds.y);
    m.label_classes = 0;
    ck_assert_int_eq(dlrt_dataset_from_idx(&m, &img, "img", &lab, "lab", &ds, &e), 0);
    dlrt_dataset_free(&ds);

    dlrt_model b = data_model(1, DLRT_F32, 1);
    ck_assert_int_eq(dlrt_dataset_from_idx(&b, &img, "img", &lab, "lab", &ds, &e), 0);
    ck_assert_float_eq(((const float *)ds.y)[2], 3.0f);
    dlrt_dataset_free(&ds);
    b.label_binary = 1;
    ck_assert_int_eq(dlrt_dataset_from_idx(&b, &img, "img", &lab, "lab", &ds, &e), -1);
    ck_assert_str_eq(e.msg, "lab: row 0: label 2 is not a binary label (model 'toy' takes 0 or 1: its binary "
                            "crossentropy reads the labels as targets in [0, 1])");
    dlrt_idx bits = {1, {4}, 4, (uint8_t[]){1, 0, 0, 1}};
    ck_assert_int_eq(dlrt_dataset_from_idx(&b, &img, "img", &bits, "bits", &ds, &e), 0);
    dlrt_dataset_free(&ds);
}
END_TEST

START_TEST(npy_round_trip)
{
    make_tmpdir();
    float f[6] = {1.5f, -2, 3, 0.25f, 1e-8f, 7};
    int64_t dims[2] = {2, 3};
    dlrt_err e;
    dlrt_npy a;
    ck_assert_int_eq(dlrt_npy_write(tpath("f.npy"), DLRT_F32, 2, dims, f, &e), 0);
    ck_assert_msg(dlrt_npy_read(tpath("f.npy"), &a, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(a.dtype, DLRT_F32);
    ck_assert_int_eq(a.rank, 2);
    ck_assert_int_eq(a.dims[1], 3);
    ck_assert_mem_eq(a.data, f, sizeof f);
    dlrt_npy_free(&a);
    /* header + preamble a multiple of 64, as numpy writes it */
    FILE *fp = fopen(tpath("f.npy"), "rb");
    fseek(fp, 0, SEEK_END);
    ck_assert_int_eq((ftell(fp) - (long)sizeof f) % 64, 0);
    fclose(fp);

    uint8_t u[3] = {0, 128, 255};
    int64_t d1[1] = {3};
    ck_assert_int_eq(dlrt_npy_write(tpath("u.npy"), DLRT_U8, 1, d1, u, &e), 0);
    ck_assert_int_eq(dlrt_npy_read(tpath("u.npy"), &a, &e), 0);
    ck_assert_int_eq(a.dtype, DLRT_U8);
    ck_assert_int_eq(a.rank, 1);
    ck_assert_mem_eq(a.data, u, 3);
    dlrt_npy_free(&a);

    int32_t iv[4] = {-1, 2, 1 << 30, 0};
    int64_t d3[3] = {1, 2, 2};
    ck_assert_int_eq(dlrt_npy_write(tpath("i.npy"), DLRT_I32, 3, d3, iv, &e), 0);
    ck_assert_int_eq(dlrt_npy_read(tpath("i.npy"), &a, &e), 0);
    ck_assert_int_eq(a.dtype, DLRT_I32);
    ck_assert_int_eq(a.numel, 4);
    ck_assert_mem_eq(a.data, iv, sizeof iv);
    dlrt_npy_free(&a);
    remove_tmpdir();
}
END_TEST

/* Writes a .npy with the given version and header text and n payload bytes. */
static void write_npy_raw(const char *path, int major, const char *header, size_t payload)
{
    FILE *f = fopen(path, "wb");
    size_t hl = strlen(header);
    fwrite("\x93NUMPY", 1, 6, f);
    fputc(major, f);
    fputc(0, f);
    if (major == 1) {
        fputc((int)(hl & 0xff), f);
        fputc((int)(hl >> 8), f);
    } else {
        for (int k = 0; k < 4; k++) fputc((int)((hl >> (8 * k)) & 0xff), f);
    }
    fwrite(header, 1, hl, f);
    for (size_t i = 0; i < payload; i++) fputc((int)i, f);
    fclose(f);
}

static void npy_fails(const char *path, const char *want)
{
    dlrt_npy a;
    dlrt_err e;
    ck_assert_int_eq(dlrt_npy_read(path, &a, &e), -1);
    ck_assert_msg(strstr(e.msg, want) != NULL, "message '%s' lacks '%s'", e.msg, want);
    ck_assert_ptr_null(a.data);
}

START_TEST(npy_headers)
{
    make_tmpdir();
    const char *p = tpath("h.npy");
    dlrt_npy a;
    dlrt_err e;
    write_npy_raw(p, 2, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }\n", 4);
    ck_assert_msg(dlrt_npy_read(p, &a, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(a.numel, 4);
    dlrt_npy_free(&a);
    write_npy_raw(p, 1, "{\"shape\": (3,), \"fortran_order\": False, \"descr\": \"<i4\"}   \n", 12);
    ck_assert_msg(dlrt_npy_read(p, &a, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(a.rank, 1);
    dlrt_npy_free(&a);
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", 4);
    ck_assert_msg(dlrt_npy_read(p, &a, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(a.rank, 0);
    ck_assert_int_eq(a.numel, 1);
    dlrt_npy_free(&a);

    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", 16);
    npy_fails(p, "Fortran-order");
    write_npy_raw(p, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n", 16);
    npy_fails(p, "unsupported .npy element type '<f8'");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n", 15);
    npy_fails(p, "truncated");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n", 17);
    npy_fails(p, "trailing garbage");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }\n", 16);
    npy_fails(p, "malformed .npy header");
    write_npy_raw(p, 1, "{'descr': '<f4', 'shape': (2,), }\n", 8);
    npy_fails(p, "lacks");
    write_npy_raw(p, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)", 8);
    npy_fails(p, "malformed");
    write_npy_raw(p, 1, "[1, 2]", 8);
    npy_fails(p, "not a dict");
    write_npy_raw(p, 7, "{}", 0);
    npy_fails(p, "version 7");
    write_bytes(p, "NUMPY\x01\x00", 7, 0);
    npy_fails(p, "bad magic");
    /* header length beyond the file */
    write_bytes(p, "\x93NUMPY\x01\x00\xff\x7f{", 11, 0);
    npy_fails(p, "truncated");
    remove_tmpdir();
}
END_TEST

/* Random corruptions (byte changes, truncations) of valid IDX (plain and
 * gzip'd) and .npy files: each read fails with a message or succeeds,
 * never crashes (the suite runs under ASan). */
START_TEST(mutations)
{
    make_tmpdir();
    uint32_t dims[3] = {3, 5, 4};
    int64_t nd[2] = {3, 7};
    float vals[21] = {0};
    dlrt_err e;
    write_idx(tpath("m.idx"), 3, dims, 0, 0);
    write_idx(tpath("m.gz"), 3, dims, 0, 1);
    ck_assert_int_eq(dlrt_npy_write(tpath("m.npy"), DLRT_F32, 2, nd, vals, &e), 0);
    const char *files[3] = {"m.idx", "m.gz", "m.npy"};
    int failed = 0;
    for (int which = 0; which < 3; which++) {
        unsigned char orig[512], buf[512];
        FILE *f = fopen(tpath(files[which]), "rb");
        size_t n = fread(orig, 1, sizeof orig, f);
        fclose(f);
        for (uint64_t it = 0; it < 300; it++) {
            memcpy(buf, orig, n);
            size_t len = n;
            uint64_t r = dlrt_key(31, it);
            if (r % 4 == 0) len = (size_t)(dlrt_key(32, it) % n);
            else buf[dlrt_key(33, it) % n] = (unsigned char)dlrt_key(34, it);
            write_bytes(tpath("mut"), buf, len, 0);
            e.msg[0] = '\0';
            int rc;
            if (which < 2) {
                dlrt_idx x;
                rc = dlrt_idx_read(tpath("mut"), &x, &e);
                if (rc == 0) dlrt_idx_free(&x);
            } else {
                dlrt_npy a;
                rc = dlrt_npy_read(tpath("mut"), &a, &e);
                if (rc == 0) dlrt_npy_free(&a);
            }
            ck_assert(rc == 0 || (rc == -1 && e.msg[0] != '\0'));
            failed += rc != 0;
        }
    }
    ck_assert_int_gt(failed, 200);
    remove_tmpdir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("runtime_io");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, idx_plain_and_gz);
    tcase_add_test(tc, idx_corruptions);
    tcase_add_test(tc, dataset_assembly);
    tcase_add_test(tc, dataset_one_hot_labels);
    tcase_add_test(tc, dataset_label_range);
    tcase_add_test(tc, npy_round_trip);
    tcase_add_test(tc, npy_headers);
    tcase_add_test(tc, mutations);
    suite_add_tcase(s, tc);
    return tu_run_suite(s);
}
