/* JPEG through libjpeg(-turbo). Fatal errors longjmp out of the library through our error manager.
 * A file that ends early only draws a warning from libjpeg (it pads with grey); we make that one
 * fatal so a truncated download is reported instead of loaded half-grey. Other corrupt-data warnings
 * are tolerated, as every viewer does. The EXIF orientation is read from APP1 and applied. */
#include "core/error.h"
#include "io/exif.h"
#include "io/image.h"
#include "io/image_private.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct {
  struct jpeg_error_mgr base;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
} ErrorMgr;

static void
error_exit (j_common_ptr cinfo)
{
  ErrorMgr *err = (ErrorMgr *) cinfo->err;
  err->base.format_message (cinfo, err->message);
  longjmp (err->jump, 1);
}

static void
emit_message (j_common_ptr cinfo, int level)
{
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
    error_exit (cinfo);
}

static void
output_message (j_common_ptr cinfo)
{
}

/* Adobe CMYK JPEGs store inverted ink values; with the inversion undone, R = (255 - C)(255 - K)/255
 * becomes C·K/255 on the stored bytes. */
static void
cmyk_row_to_rgb (const guint8 *in, guint8 *out, JDIMENSION width, gboolean inverted)
{
  for (JDIMENSION x = 0; x < width; x++, in += 4, out += 3)
    {
      guint k = inverted ? in[3] : 255u - in[3];
      for (int c = 0; c < 3; c++)
        {
          guint v = inverted ? in[c] : 255u - in[c];
          out[c] = (guint8) ((v * k + 127) / 255);
        }
    }
}

static int
find_orientation (j_decompress_ptr cinfo)
{
  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next)
    if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp (m->data, "Exif\0\0", 6) == 0)
      return sc_exif_orientation (m->data, m->data_length);
  return 1;
}

ScImage *
sc_jpeg_load_memory (const void *data, size_t len, GError **error)
{
  struct jpeg_decompress_struct cinfo;
  ErrorMgr err;
  ScImage *volatile img = NULL;
  guint8 *volatile cmyk = NULL;
  volatile gboolean error_set = FALSE;

  memset (&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error (&err.base);
  err.base.error_exit = error_exit;
  err.base.emit_message = emit_message;
  err.base.output_message = output_message;
  err.message[0] = '\0';
  if (setjmp (err.jump))
    {
      if (!error_set)
        g_set_error (error, SC_ERROR, SC_ERROR_FORMAT, "JPEG: %s", err.message);
      jpeg_destroy_decompress (&cinfo);
      g_free (cmyk);
      sc_image_free (img);
      return NULL;
    }

  jpeg_create_decompress (&cinfo);
  jpeg_mem_src (&cinfo, data, (unsigned long) len);
  jpeg_save_markers (&cinfo, JPEG_APP0 + 1, 0xffff);
  jpeg_read_header (&cinfo, TRUE);

  if (!sc_image_check_size ((long) cinfo.image_width, (long) cinfo.image_height, "JPEG", error))
    {
      error_set = TRUE;
      longjmp (err.jump, 1);
    }

  gboolean is_cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  int channels;
  if (cinfo.jpeg_color_space == JCS_GRAYSCALE)
    {
      cinfo.out_color_space = JCS_GRAYSCALE;
      channels = 1;
    }
  else if (is_cmyk)
    {
      cinfo.out_color_space = JCS_CMYK;
      channels = 3;
    }
  else
    {
      cinfo.out_color_space = JCS_RGB;
      channels = 3;
    }
  jpeg_start_decompress (&cinfo);
  if (cinfo.output_components != (is_cmyk ? 4 : channels))
    {
      g_set_error (error, SC_ERROR, SC_ERROR_UNSUPPORTED, "JPEG: unexpected %d output components",
                   cinfo.output_components);
      error_set = TRUE;
      longjmp (err.jump, 1);
    }

  img = sc_image_new ((int) cinfo.output_width, (int) cinfo.output_height, channels, 8, error);
  if (img == NULL)
    {
      error_set = TRUE;
      longjmp (err.jump, 1);
    }
  size_t stride = (size_t) img->width * (size_t) channels;
  if (is_cmyk)
    cmyk = g_malloc ((size_t) img->width * 4);
  while (cinfo.output_scanline < cinfo.output_height)
    {
      guint8 *row = (guint8 *) img->data + (size_t) cinfo.output_scanline * stride;
      JSAMPROW target = is_cmyk ? cmyk : row;
      jpeg_read_scanlines (&cinfo, &target, 1);
      if (is_cmyk)
        cmyk_row_to_rgb (cmyk, row, cinfo.output_width, cinfo.saw_Adobe_marker);
    }
  int orientation = find_orientation (&cinfo);
  jpeg_finish_decompress (&cinfo);
  jpeg_destroy_decompress (&cinfo);
  g_free (cmyk);

  ScImage *oriented = sc_image_apply_orientation (img, orientation, error);
  if (oriented != img)
    sc_image_free (img);
  return oriented;
}
