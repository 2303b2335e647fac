/* Twin of node/11-rejections-sync.js, node/11-rejections.js without its
 * async function k(): 11-rejections.c without k. */
#define WITHOUT_ASYNC_K
#include "11-rejections.c"
