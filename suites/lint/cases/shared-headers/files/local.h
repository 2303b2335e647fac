/* No include guard: read twice, it would define struct account twice. */
struct account {
  int id;
};
