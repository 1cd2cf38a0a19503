/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers for static inline functions and macros that Rust cannot call directly. Each one only
 * forwards to the kernel item it is named after; logic belongs in the Rust code.
 */
#ifndef _RUST_GMEM_HELPERS_H
#define _RUST_GMEM_HELPERS_H

#include <linux/fs.h>
#include <linux/maple_tree.h>
#include <linux/slab.h>

void rust_gmem_mt_init_external(struct maple_tree *mt, struct rw_semaphore *lock);
void rust_gmem_mas_init(struct ma_state *mas, struct maple_tree *mt, unsigned long first,
			unsigned long last);
void rust_gmem_mas_set_range(struct ma_state *mas, unsigned long first, unsigned long last);
bool rust_gmem_mt_external_lock_held(struct maple_tree *mt);
void *rust_gmem_xa_mk_value(unsigned long v);
bool rust_gmem_xa_is_value(const void *entry);
unsigned long rust_gmem_xa_to_value(const void *entry);

struct kmem_cache *rust_gmem_kmem_cache_create(const char *name, unsigned int size,
					       unsigned int align, slab_flags_t flags,
					       void (*ctor)(void *));
void *rust_gmem_alloc_inode_sb(struct super_block *sb, struct kmem_cache *cache, gfp_t gfp);

loff_t rust_gmem_i_size_read(const struct inode *inode);
void rust_gmem_i_size_write(struct inode *inode, loff_t size);
void rust_gmem_mapping_set_gfp_mask(struct address_space *mapping, gfp_t gfp);
void rust_gmem_mapping_set_inaccessible(struct address_space *mapping);

void rust_gmem_get_file(struct file *file);

#endif /* _RUST_GMEM_HELPERS_H */
