/* `scedit cond`: extract a condition image (canny edges, colour map, depth, sketch, masked image)
 * from a picture, optionally resized and centre-cropped to the generation size first. */
#include "cli.h"

#include "cond/canny.h"
#include "cond/color_map.h"
#include "cond/depth.h"
#include "cond/hint.h"
#include "cond/mask.h"
#include "cond/sketch.h"

#include <math.h>

int
cmd_cond (int argc, char **argv)
{
  char *out_path = NULL, *mask_path = NULL;
  double low = NAN, high = NAN;
  int width = 0, height = 0, cell = 0, grow = -1;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "PNG to write (required)", "OUT.png" },
    { "width", 'W', 0, G_OPTION_ARG_INT, &width, "resize and centre-crop to this width (with -H)", "W" },
    { "height", 'H', 0, G_OPTION_ARG_INT, &height, "resize and centre-crop to this height (with -W)", "H" },
    { "low", 0, 0, G_OPTION_ARG_DOUBLE, &low, "canny: low threshold (100)", "N" },
    { "high", 0, 0, G_OPTION_ARG_DOUBLE, &high, "canny: high threshold (200)", "N" },
    { "cell", 0, 0, G_OPTION_ARG_INT, &cell, "color: cell size in pixels (64)", "N" },
    { "mask", 0, 0, G_OPTION_ARG_FILENAME, &mask_path, "inpaint: mask image (alpha or luminance > 127 = repaint)", "MASK" },
    { "grow", 0, 0, G_OPTION_ARG_INT, &grow, "inpaint: grow the mask by N pixels first (0)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new (
    "canny|color|depth|sketch|inpaint IN — extract a condition image");
  g_option_context_set_description (ctx,
    "Kinds:\n"
    "  canny    edges as cv2.Canny on the RGB image (no blur), white on black\n"
    "  color    colour cells: INTER_CUBIC down to size/cell, INTER_NEAREST back up\n"
    "  depth    a depth map (grey 8/16-bit or RGB luminance) stretched to 0–255\n"
    "  sketch   a drawing as white lines on black (dark-on-light drawings are inverted)\n"
    "  inpaint  the image with the masked pixels set to black (needs --mask)\n"
    "With -W and -H, canny and color resize the source first; depth, sketch and inpaint resize\n"
    "their result (short side to min(W, H) with bilinear, then a centre crop).\n");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!cli_parse (ctx, &argc, &argv, &error))
    return cli_fail (error);
  g_autofree char *out_owned = out_path, *mask_owned = mask_path;
  if (argc != 3)
    return cli_usage_error (ctx, "cond needs a kind and one input image");
  const char *kind = argv[1], *in_path = argv[2];
  const gboolean canny = g_str_equal (kind, "canny"), color = g_str_equal (kind, "color"),
                 inpaint = g_str_equal (kind, "inpaint");
  if (!canny && !color && !inpaint && !g_str_equal (kind, "depth") && !g_str_equal (kind, "sketch"))
    return cli_usage_error (ctx, "the kind must be canny, color, depth, sketch or inpaint");
  if (!out_path)
    return cli_usage_error (ctx, "cond needs -o OUT.png");
  if ((width > 0) != (height > 0) || width < 0 || height < 0)
    return cli_usage_error (ctx, "-W and -H go together and must be positive");
  if (!canny && (!isnan (low) || !isnan (high)))
    return cli_usage_error (ctx, "--low and --high are canny options");
  if (!color && cell != 0)
    return cli_usage_error (ctx, "--cell is a color option");
  if (!inpaint && (mask_path || grow >= 0))
    return cli_usage_error (ctx, "--mask and --grow are inpaint options");
  if (inpaint && !mask_path)
    return cli_usage_error (ctx, "inpaint needs --mask MASK");
  if (color && cell < 0)
    return cli_usage_error (ctx, "--cell must be positive");

  g_autoptr (ScImage) src = sc_image_load (in_path, &error);
  if (!src)
    return cli_fail (error);
  const gboolean fit_first = canny || color;
  if (fit_first && width > 0)
    {
      ScImage *fit = sc_cond_fit (src, width, height, &error);
      if (!fit)
        return cli_fail (error);
      sc_image_free (src);
      src = fit;
    }

  g_autoptr (ScImage) cond = NULL;
  if (canny)
    cond = sc_cond_canny (src, isnan (low) ? SC_CANNY_DEFAULT_LOW : low, isnan (high) ? SC_CANNY_DEFAULT_HIGH : high,
                          &error);
  else if (color)
    cond = sc_cond_color_map (src, cell ? cell : SC_COLOR_MAP_DEFAULT_CELL, &error);
  else if (inpaint)
    {
      g_autoptr (ScImage) mimg = sc_image_load (mask_path, &error);
      g_autoptr (ScMask) mask = mimg ? sc_mask_from_image (mimg, &error) : NULL;
      if (mask && grow > 0)
        {
          ScMask *grown = sc_mask_grow (mask, grow, &error);
          sc_mask_free (mask);
          mask = grown;
        }
      if (mask)
        cond = sc_cond_inpaint (src, mask, &error);
    }
  else if (g_str_equal (kind, "depth"))
    cond = sc_cond_depth (src, &error);
  else
    cond = sc_cond_sketch (src, &error);
  if (!cond)
    return cli_fail (error);
  if (!fit_first && width > 0)
    {
      ScImage *fit = sc_cond_fit (cond, width, height, &error);
      if (!fit)
        return cli_fail (error);
      sc_image_free (cond);
      cond = fit;
    }
  if (!sc_image_save_png (cond, out_path, NULL, NULL, 0, &error))
    return cli_fail (error);
  return 0;
}
