/* SPDX-License-Identifier: Apache-2.0 */
/* Copyright 2026 the t2u authors */

/* The C target holds only the public header (include/t2u.h). */
