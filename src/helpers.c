// SPDX-License-Identifier: GPL-2.0
/*
 * C helpers for static inline functions and macros of the 6.12 kernel that Rust cannot call directly
 * (mainline has the rust/helpers/ directory for the same purpose). Each forwards to the item it is named after.
 */
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/hugetlb.h>
#include <linux/maple_tree.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/mount.h>
#include <linux/pagevec.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "rust_gmem_helpers.h"

/*
 * Module parameters: 6.12's Rust module! macro has none, so they are declared here and read through
 * accessors.
 */
static bool in_place_conversion = true;
module_param(in_place_conversion, bool, 0444);
MODULE_PARM_DESC(in_place_conversion,
		 "Files made through KVM convert in place and alone say what is private, as Linux 7.4 with kvm.gmem_in_place_conversion=1 (default Y); N: as 7.3, the VM's memory attributes say");

bool rust_gmem_param_in_place_conversion(void)
{
	return READ_ONCE(in_place_conversion);
}

/*
 * mt_init_flags() + mt_set_external_lock() (a macro that only does something under lockdep). RCU mode,
 * so that lockless readers (mtree_load() under RCU) see consistent nodes.
 */
void rust_gmem_mt_init_external(struct maple_tree *mt, struct rw_semaphore *lock)
{
	mt_init_flags(mt, MT_FLAGS_LOCK_EXTERN | MT_FLAGS_USE_RCU);
	mt_set_external_lock(mt, lock);
}

/* MA_STATE() is a macro that declares and initialises a struct ma_state. */
void rust_gmem_mas_init(struct ma_state *mas, struct maple_tree *mt, unsigned long first,
			unsigned long last)
{
	MA_STATE(tmp, mt, first, last);

	*mas = tmp;
}

/*
 * The number of nodes of @mt, exactly: each leaf that a walk over every range (NULL ones too)
 * passes, and their ancestors. In index order the nodes of each level come in order, so a node that
 * differs from the previous one of its level is new, and so are its ancestors up to the first that
 * is not. 6.12 has no node count; this mirrors lib/maple_tree.c's private decoding of nodes
 * (mte_to_node(), mte_parent(), ma_is_root(): the parent pointer's bit 0 marks the root). The caller
 * holds the tree's lock.
 */
unsigned long rust_gmem_mt_node_count(struct maple_tree *mt)
{
	struct maple_node *seen[MAPLE_HEIGHT_MAX] = { NULL };
	unsigned long count = 0;
	MA_STATE(mas, mt, 0, 0);

	do {
		struct maple_node *node;
		int level;

		mas_find_range(&mas, ULONG_MAX);
		if (mas.status != ma_active)
			break;
		node = (struct maple_node *)((unsigned long)mas.node & ~MAPLE_NODE_MASK);
		for (level = 0; level < MAPLE_HEIGHT_MAX && node != seen[level]; level++) {
			seen[level] = node;
			count++;
			if ((unsigned long)node->parent & 1)
				break;
			node = (struct maple_node *)((unsigned long)node->parent & ~MAPLE_NODE_MASK);
		}
	} while (mas.last != ULONG_MAX);
	return count;
}

void *rust_gmem_xa_mk_value(unsigned long v)
{
	return xa_mk_value(v);
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

/*
 * file_get_write_access() (fs/internal.h) for a file made by alloc_file_pseudo(), which skips it:
 * count the open file as a writer, and let __fput() undo it through FMODE_WRITER.
 */
int rust_gmem_file_get_write_access(struct file *file)
{
	int error = get_write_access(file_inode(file));

	if (error)
		return error;
	error = mnt_get_write_access(file->f_path.mnt);
	if (error) {
		put_write_access(file_inode(file));
		return error;
	}
	file->f_mode |= FMODE_WRITER;
	return 0;
}

void rust_gmem_folio_get(struct folio *folio)
{
	folio_get(folio);
}

void rust_gmem_folio_put(struct folio *folio)
{
	folio_put(folio);
}

struct address_space *rust_gmem_folio_mapping(struct folio *folio)
{
	return folio->mapping;
}

pgoff_t rust_gmem_folio_index(struct folio *folio)
{
	return folio->index;
}

long rust_gmem_folio_nr_pages(struct folio *folio)
{
	return folio_nr_pages(folio);
}

int rust_gmem_folio_ref_count(struct folio *folio)
{
	return folio_ref_count(folio);
}

bool rust_gmem_folio_mapped(struct folio *folio)
{
	return folio_mapped(folio);
}

bool rust_gmem_folio_maybe_dma_pinned(struct folio *folio)
{
	return folio_maybe_dma_pinned(folio);
}

bool rust_gmem_folio_test_uptodate(struct folio *folio)
{
	return folio_test_uptodate(folio);
}

/* folio_zero_range() page by page, rescheduling as it goes: a folio may be a 1 GiB page. */
void rust_gmem_folio_zero(struct folio *folio)
{
	long i, nr = folio_nr_pages(folio);

	for (i = 0; i < nr; i++) {
		clear_highpage(folio_page(folio, i));
		cond_resched();
	}
}

bool rust_gmem_folio_test_hwpoison(struct folio *folio)
{
	return folio_test_hwpoison(folio);
}

void rust_gmem_folio_mark_uptodate(struct folio *folio)
{
	folio_mark_uptodate(folio);
}

struct page *rust_gmem_folio_file_page(struct folio *folio, pgoff_t index)
{
	return folio_file_page(folio, index);
}

/* folio_alloc() is an allocation-profiling macro. */
struct folio *rust_gmem_folio_alloc(gfp_t gfp, unsigned int order)
{
	return folio_alloc(gfp, order);
}

/* filemap_lock_folio(): the locked folio at @index, or ERR_PTR(-ENOENT). */
struct folio *rust_gmem_filemap_lock_folio(struct address_space *mapping, pgoff_t index)
{
	return filemap_lock_folio(mapping, index);
}

unsigned long rust_gmem_mapping_nrpages(struct address_space *mapping)
{
	return READ_ONCE(mapping->nrpages);
}

void rust_gmem_folio_batch_init(struct folio_batch *fbatch)
{
	folio_batch_init(fbatch);
}

/* INIT_WORK() is a macro (with a lockdep class per call site). */
void rust_gmem_init_work(struct work_struct *work, work_func_t func)
{
	INIT_WORK(work, func);
}

/* for_each_online_cpu() is a macro: the next online CPU after @prev (-1 to start), or >= nr_cpu_ids. */
int rust_gmem_next_online_cpu(int prev)
{
	return cpumask_next(prev, cpu_online_mask);
}

/* fsleep() is a static inline. */
void rust_gmem_fsleep(unsigned long usecs)
{
	fsleep(usecs);
}

/* cond_resched() is a macro whose expansion depends on the preemption model. */
void rust_gmem_cond_resched(void)
{
	cond_resched();
}

unsigned long rust_gmem_folio_pfn(struct folio *folio)
{
	return folio_pfn(folio);
}

/* The folio of the @n-th page after the first page of @folio (the pages must be order-0). */
struct folio *rust_gmem_folio_nth_page(struct folio *folio, unsigned long n)
{
	return page_folio(nth_page(&folio->page, n));
}

/* A folio from a pool keeps the flags of its last use: the caller owns it and nobody else sees it. */
void rust_gmem_folio_clear_uptodate(struct folio *folio)
{
	folio_clear_uptodate(folio);
}

#ifdef HAVE_HUGETLB_FOLIO_SPLIT_PAGES
unsigned int rust_gmem_hstate_order(struct hstate *h)
{
	return huge_page_order(h);
}

/*
 * filemap_add_folio() without the memcg charge and the LRU: hugetlb folios and the pages split from
 * them never go on the LRU (hugetlbfs adds its folios with __filemap_add_folio() too). folio_lock()
 * rather than __folio_set_locked(): a folio taken back out of the page cache may still be locked for
 * a moment by a lockless lookup that is about to notice it is gone.
 */
int rust_gmem_filemap_add_folio_nolru(struct address_space *mapping, struct folio *folio,
				      pgoff_t index, gfp_t gfp)
{
	int ret;

	folio_lock(folio);
	ret = __filemap_add_folio(mapping, folio, index, gfp, NULL);
	if (ret)
		folio_unlock(folio);
	return ret;
}

struct folio *rust_gmem_hugetlb_merge(struct hstate *h, struct folio *first,
				      struct hugepage_subpool *spool)
{
	return hugetlb_folio_merge_pages(h, &first->page, spool);
}

void rust_gmem_hugetlb_forget(struct hstate *h, struct folio *first,
			      struct hugepage_subpool *spool)
{
	hugetlb_forget_split_pages(h, &first->page, spool);
}
#endif
