#include "mm/heap.hpp"

namespace kernel {
namespace {

constexpr uint32_t header_magic = 0x7E4A0B1C;
constexpr uint32_t large_class = 0xFF;

struct Header {
    uint32_t magic;
    uint32_t size_class; // index, or large_class for a page run
    uint64_t pages;      // page count for a page run
};
static_assert(sizeof(Header) == Heap::header_size);

} // namespace

void* Heap::allocate(size_t size)
{
    if (m_pages == nullptr || size > (size_t{1} << 40))
        return nullptr;
    const size_t needed = size + header_size;
    int size_class = 0;
    while (size_class < class_count && class_size(size_class) < needed)
        ++size_class;

    SpinlockGuard guard(m_lock);
    Header* header;
    if (size_class == class_count) {
        const size_t pages = (needed + page_size - 1) / page_size;
        header = static_cast<Header*>(m_pages->allocate_pages(pages));
        if (header == nullptr)
            return nullptr;
        *header = Header{header_magic, large_class, pages};
        m_bytes_in_use += pages * page_size;
    } else {
        if (m_free[size_class] == nullptr) {
            auto* page = static_cast<uint8_t*>(m_pages->allocate_pages(1));
            if (page == nullptr)
                return nullptr;
            const size_t block = class_size(size_class);
            for (size_t off = 0; off + block <= page_size; off += block) {
                auto* free_block = reinterpret_cast<FreeBlock*>(page + off);
                free_block->next = m_free[size_class];
                m_free[size_class] = free_block;
            }
        }
        FreeBlock* block = m_free[size_class];
        m_free[size_class] = block->next;
        header = reinterpret_cast<Header*>(block);
        *header = Header{header_magic, static_cast<uint32_t>(size_class), 0};
        m_bytes_in_use += class_size(size_class);
    }
    return reinterpret_cast<uint8_t*>(header) + header_size;
}

bool Heap::free(void* pointer)
{
    if (pointer == nullptr)
        return true;
    if (reinterpret_cast<uintptr_t>(pointer) % header_size != 0)
        return false;
    auto* header = reinterpret_cast<Header*>(static_cast<uint8_t*>(pointer) - header_size);
    SpinlockGuard guard(m_lock);
    if (header->magic != header_magic)
        return false;
    if (header->size_class == large_class) {
        if (reinterpret_cast<uintptr_t>(header) % page_size != 0)
            return false;
        header->magic = 0;
        m_bytes_in_use -= header->pages * page_size;
        m_pages->free_pages(header, header->pages);
        return true;
    }
    if (header->size_class >= class_count)
        return false;
    const int size_class = static_cast<int>(header->size_class);
    header->magic = 0; // a second free of the same block is now refused
    auto* block = reinterpret_cast<FreeBlock*>(header);
    block->next = m_free[size_class];
    m_free[size_class] = block;
    m_bytes_in_use -= class_size(size_class);
    return true;
}

} // namespace kernel
