// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for static inline functions and macros of the 6.12 kernel that Rust cannot call directly
 * (mainline has the rust/helpers/ directory for the same purpose). Each forwards to the item it is named after.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/maple_tree.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/slab.h>

#include "rust_gmem_helpers.h"

/* mt_init_flags() + mt_set_external_lock() (a macro that only does something under lockdep). */
void rust_gmem_mt_init_external(struct maple_tree *mt, struct rw_semaphore *lock)
{
	mt_init_flags(mt, MT_FLAGS_LOCK_EXTERN);
	mt_set_external_lock(mt, lock);
}

/* MA_STATE() is a macro that declares and initialises a struct ma_state. */
void rust_gmem_mas_init(struct ma_state *mas, struct maple_tree *mt, unsigned long first,
			unsigned long last)
{
	MA_STATE(tmp, mt, first, last);

	*mas = tmp;
}

void rust_gmem_mas_set_range(struct ma_state *mas, unsigned long first, unsigned long last)
{
	mas_set_range(mas, first, last);
}

bool rust_gmem_mt_external_lock_held(struct maple_tree *mt)
{
	return mt_lock_is_held(mt);
}

void *rust_gmem_xa_mk_value(unsigned long v)
{
	return xa_mk_value(v);
}

bool rust_gmem_xa_is_value(const void *entry)
{
	return xa_is_value(entry);
}

unsigned long rust_gmem_xa_to_value(const void *entry)
{
	return xa_to_value(entry);
}

/* kmem_cache_create() is a _Generic macro in 6.12. */
struct kmem_cache *rust_gmem_kmem_cache_create(const char *name, unsigned int size,
					       unsigned int align, slab_flags_t flags,
					       void (*ctor)(void *))
{
	return kmem_cache_create(name, size, align, flags, ctor);
}

/* alloc_inode_sb() is a macro over kmem_cache_alloc_lru(), itself an allocation-profiling macro. */
void *rust_gmem_alloc_inode_sb(struct super_block *sb, struct kmem_cache *cache, gfp_t gfp)
{
	return alloc_inode_sb(sb, cache, gfp);
}

loff_t rust_gmem_i_size_read(const struct inode *inode)
{
	return i_size_read(inode);
}

void rust_gmem_i_size_write(struct inode *inode, loff_t size)
{
	i_size_write(inode, size);
}

void rust_gmem_mapping_set_gfp_mask(struct address_space *mapping, gfp_t gfp)
{
	mapping_set_gfp_mask(mapping, gfp);
}

void rust_gmem_mapping_set_inaccessible(struct address_space *mapping)
{
	mapping_set_inaccessible(mapping);
}

void rust_gmem_get_file(struct file *file)
{
	get_file(file);
}
