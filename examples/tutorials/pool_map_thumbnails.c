/* Pool.map over files: each "image" becomes a smaller copy in thumbs/.
 * (Shulou: process pool map method, the thumbnail example; without PIL a
 * thumbnail here keeps every 8th byte.)
 *
 *   def create_thumbnail(filename):
 *       im = Image.open(filename); im.thumbnail(SIZE, Image.ANTIALIAS)
 *       base, fname = os.path.split(filename)
 *       im.save(os.path.join(base, SAVE_DIRECTORY, fname))
 *   if __name__ == '__main__':
 *       os.mkdir(os.path.join(folder, SAVE_DIRECTORY))
 *       images = get_image_paths(folder)
 *       pool = Pool(); pool.map(create_thumbnail, images); pool.close(); pool.join()
 */
#include <string.h>

#include "tutorial.h"

#ifdef _WIN32
#  include <direct.h>
#  define make_dir(path) _mkdir(path)
#else
#  include <sys/stat.h>
#  define make_dir(path) mkdir(path, 0755)
#endif

enum { IMAGES = 40, IMAGE_BYTES = 64 * 1024 };

/* The task: reads filename, writes thumbs/<filename>; returns its size. */
static int create_thumbnail(const mproc_args_t *args, mproc_args_t *result) {
  const char *filename = str_at(args, 0);
  char save_path[256];
  snprintf(save_path, sizeof save_path, "thumbs/%s", filename);
  FILE *in = fopen(filename, "rb"), *out = fopen(save_path, "wb");
  if (!in || !out)
    return 1; /* the task fails; map reports which item */
  int c, n = 0, kept = 0;
  while ((c = fgetc(in)) != EOF)
    if (n++ % 8 == 0 && fputc(c, out) != EOF)
      kept++;
  fclose(in);
  fclose(out);
  return mproc_args_add_int(result, kept);
}

int main(int argc, char **argv) {
  mproc_main_guard(argc, argv);
  /* A folder of "images" to work on. */
  make_dir("thumbs");
  mproc_args_t *images;
  CHECK(mproc_args_new(&images));
  for (int i = 0; i < IMAGES; i++) {
    char name[64];
    snprintf(name, sizeof name, "image-%lld-%02d.jpeg", (long long)mproc_current_pid(), i);
    FILE *f = fopen(name, "wb");
    for (int b = 0; f && b < IMAGE_BYTES; b++)
      fputc(b * 7 + i, f);
    if (f)
      fclose(f);
    CHECK(mproc_args_add_str(images, name));
  }
  mproc_pool_t *pool;
  mproc_args_t *sizes;
  CHECK(mproc_pool_new(&pool, NULL)); /* Pool(): one worker per CPU */
  double t0 = now();
  CHECK(mproc_pool_map(pool, create_thumbnail, images, NULL, &sizes));
  CHECK(mproc_pool_close(pool));
  CHECK(mproc_pool_join(pool, MPROC_INFINITE));
  int64_t total = 0;
  for (size_t i = 0; i < mproc_args_count(sizes); i++) {
    const mproc_args_t *r;
    CHECK(mproc_args_get_args(sizes, i, &r));
    total += int_at(r, 0);
  }
  printf("%zu thumbnails, %lld bytes, in %.3f s with %d workers\n", mproc_args_count(sizes),
         (long long)total, now() - t0, mproc_cpu_count());
  for (int i = 0; i < IMAGES; i++) { /* tidy up */
    char path[256];
    snprintf(path, sizeof path, "thumbs/%s", str_at(images, (size_t)i));
    remove(path);
    remove(str_at(images, (size_t)i));
  }
  mproc_args_free(images);
  mproc_args_free(sizes);
  mproc_pool_free(pool);
  return total == (int64_t)IMAGES * (IMAGE_BYTES / 8) ? 0 : 1;
}
