/* The C target holds only the public header (include/t2u.h). */
