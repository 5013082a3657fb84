/* cmd_embed.h - `dlc emit` of embeddable inference code (driver/cmd_embed.c):
 * what driver/build.c hands over when --embed-weights or --weights-file is
 * given. */
#ifndef DLC_DRIVER_CMD_EMBED_H
#define DLC_DRIVER_CMD_EMBED_H

#include <stdbool.h>
#include <stdint.h>

typedef struct EmbedRequest {
    const char *model;     /* .nn file */
    const char *dir;       /* output folder (exists) */
    const char *prefix;    /* NULL: the model name */
    const char *weights;   /* safetensors checkpoint; NULL: an .onnx model's own, else the initializers */
    int64_t max_batch;     /* 0: 1 */
    bool no_blas;
    bool weights_file;     /* NAME.weights blob instead of const arrays */
    bool no_verify;        /* skip `dlc verify --embedded` on the result */
} EmbedRequest;

/* Writes DIR/NAME.c, DIR/NAME.h (and DIR/NAME.weights), then checks the
 * unit with the embedded rules.  Returns the exit status: 0, or 3 when the
 * check fails (dlc's bug; the report names the location).  User errors in
 * the model or the weights exit 1 through dlc_error. */
int dlc_emit_embedded(const EmbedRequest *r);

#endif
