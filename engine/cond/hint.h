/* The hint tensor the condition encoder reads, and the resize that makes a condition fit. */
#pragma once
#include "core/tensor.h"
#include "io/image.h"

G_BEGIN_DECLS

/* What ControlInference.get_control_input does when a condition's size differs from the image's
 * (torchvision Resize(min(H, W)) then CenterCrop((H, W)) on a PIL image): the short side is scaled
 * to min(HEIGHT, WIDTH) (long side truncated) with PIL's antialiased bilinear, then the centre
 * HEIGHT × WIDTH is cut out (offsets rounded half to even, like Python's round), padding with black
 * where the crop is larger than the image. Same size: a copy. Result: 8-bit RGB. */
ScImage *sc_cond_fit (const ScImage *img, int width, int height, GError **error);

/* sc_cond_fit, then ToTensor's scaling (÷255, not shifted): a [1, HEIGHT, WIDTH, 3] tensor in [0, 1]. */
ScTensor *sc_cond_hint (const ScImage *img, int width, int height, GError **error);

G_END_DECLS
