/* SPDX-License-Identifier: GPL-2.0 */
/*
 * C helpers for static inline functions and macros that Rust cannot call directly. Each one only
 * forwards to the kernel item it is named after; logic belongs in the Rust code.
 */
#ifndef _RUST_GMEM_HELPERS_H
#define _RUST_GMEM_HELPERS_H

#include <linux/fs.h>
#include <linux/maple_tree.h>
#include <linux/pagevec.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

bool rust_gmem_param_in_place_conversion(void);

void rust_gmem_mt_init_external(struct maple_tree *mt, struct rw_semaphore *lock);
void rust_gmem_mas_init(struct ma_state *mas, struct maple_tree *mt, unsigned long first,
			unsigned long last);
unsigned long rust_gmem_mt_node_count(struct maple_tree *mt);
void *rust_gmem_xa_mk_value(unsigned long v);
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
int rust_gmem_file_get_write_access(struct file *file);

void rust_gmem_folio_get(struct folio *folio);
void rust_gmem_folio_put(struct folio *folio);
struct address_space *rust_gmem_folio_mapping(struct folio *folio);
pgoff_t rust_gmem_folio_index(struct folio *folio);
long rust_gmem_folio_nr_pages(struct folio *folio);
int rust_gmem_folio_ref_count(struct folio *folio);
bool rust_gmem_folio_mapped(struct folio *folio);
bool rust_gmem_folio_maybe_dma_pinned(struct folio *folio);
bool rust_gmem_folio_test_hwpoison(struct folio *folio);
bool rust_gmem_folio_test_uptodate(struct folio *folio);
void rust_gmem_folio_zero(struct folio *folio);
void rust_gmem_folio_mark_uptodate(struct folio *folio);
struct page *rust_gmem_folio_file_page(struct folio *folio, pgoff_t index);
struct folio *rust_gmem_folio_alloc(gfp_t gfp, unsigned int order);
struct folio *rust_gmem_filemap_lock_folio(struct address_space *mapping, pgoff_t index);
unsigned long rust_gmem_mapping_nrpages(struct address_space *mapping);
void rust_gmem_folio_batch_init(struct folio_batch *fbatch);
unsigned long rust_gmem_folio_pfn(struct folio *folio);
struct folio *rust_gmem_folio_nth_page(struct folio *folio, unsigned long n);
void rust_gmem_folio_clear_uptodate(struct folio *folio);

/* Only with patches/0003-*.patch (HAVE_HUGETLB_FOLIO_SPLIT_PAGES; Kbuild sets cfg(rust_gmem_hugetlb)). */
struct hugepage_subpool;
struct hstate;
unsigned int rust_gmem_hstate_order(struct hstate *h);
int rust_gmem_filemap_add_folio_nolru(struct address_space *mapping, struct folio *folio,
				      pgoff_t index, gfp_t gfp);
struct folio *rust_gmem_hugetlb_merge(struct hstate *h, struct folio *first,
				      struct hugepage_subpool *spool);
void rust_gmem_hugetlb_forget(struct hstate *h, struct folio *first,
			      struct hugepage_subpool *spool);

void rust_gmem_init_work(struct work_struct *work, work_func_t func);
int rust_gmem_next_online_cpu(int prev);
void rust_gmem_fsleep(unsigned long usecs);
void rust_gmem_cond_resched(void);

#endif /* _RUST_GMEM_HELPERS_H */
