// Receive and transmit descriptor layouts of the 8254x (manual 317453,
// sections 3.2.3 and 3.3.2 - 3.3.8). Each is 16 bytes; rings of them live in
// DMA memory that the device reads and writes, so the driver only ever
// touches them through volatile accesses and never believes a field the
// device could have changed without checking it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace e1000 {

// Receive descriptor, legacy format (3.2.3).
struct RxDescriptor {
    uint64_t buffer;   // physical address of a buffer of RCTL.BSIZE bytes
    uint16_t length;   // bytes stored (written back by the device)
    uint16_t checksum; // packet checksum from RXCSUM.PCSS on
    uint8_t status;
    uint8_t errors;
    uint16_t special; // VLAN tag when status.VP
};
static_assert(sizeof(RxDescriptor) == 16);
static_assert(offsetof(RxDescriptor, status) == 12);

namespace rx_status {
constexpr uint8_t dd = 1u << 0;    // descriptor done
constexpr uint8_t eop = 1u << 1;   // end of packet
constexpr uint8_t ixsm = 1u << 2;  // ignore the checksum indications
constexpr uint8_t vp = 1u << 3;    // 802.1Q packet, tag in `special`
constexpr uint8_t tcpcs = 1u << 5; // TCP/UDP checksum was calculated
constexpr uint8_t ipcs = 1u << 6;  // IPv4 header checksum was calculated
constexpr uint8_t pif = 1u << 7;   // passed an inexact filter
} // namespace rx_status

namespace rx_error {
constexpr uint8_t ce = 1u << 0;   // CRC or alignment error
constexpr uint8_t se = 1u << 1;   // symbol error (TBI)
constexpr uint8_t seq = 1u << 2;  // sequence error (TBI)
constexpr uint8_t cxe = 1u << 4;  // carrier extension error
constexpr uint8_t tcpe = 1u << 5; // TCP/UDP checksum error
constexpr uint8_t ipe = 1u << 6;  // IPv4 checksum error
constexpr uint8_t rxe = 1u << 7;  // data error
// Errors that make the frame itself bad (checksum errors only describe it).
constexpr uint8_t frame = ce | se | seq | cxe | rxe;
} // namespace rx_error

// Transmit descriptor, legacy format (3.3.3).
struct TxDescriptor {
    uint64_t buffer;
    uint16_t length;
    uint8_t cso; // where to store the checksum (legacy checksum, CMD.IC)
    uint8_t command;
    uint8_t status; // bits 3:0; bits 7:4 reserved
    uint8_t css;    // where the checksum starts
    uint16_t special;
};
static_assert(sizeof(TxDescriptor) == 16);

namespace tx_command {
constexpr uint8_t eop = 1u << 0;  // end of packet
constexpr uint8_t ifcs = 1u << 1; // insert the Ethernet CRC
constexpr uint8_t ic = 1u << 2;   // legacy: insert checksum (CSS/CSO)
constexpr uint8_t tse = 1u << 2;  // extended data: part of a TCP segmentation frame (same bit)
constexpr uint8_t rs = 1u << 3;   // report status: write DD back
constexpr uint8_t dext = 1u << 5; // extended descriptor (context or data)
constexpr uint8_t vle = 1u << 6;  // insert the VLAN tag from `special`
constexpr uint8_t ide = 1u << 7;  // delay the interrupt (TIDV)
} // namespace tx_command

namespace tx_status {
constexpr uint8_t dd = 1u << 0; // descriptor done
constexpr uint8_t ec = 1u << 1; // excess collisions: the frame was dropped
constexpr uint8_t lc = 1u << 2; // late collision
constexpr uint8_t tu = 1u << 3; // transmit underrun (82544GC/EI)
} // namespace tx_status

// TCP/IP context descriptor (3.3.6): the checksum offsets that the following
// data descriptors with POPTS.IXSM/TXSM use. The device remembers the last
// one it saw, so a context is only sent when it changes.
struct TxContextDescriptor {
    uint8_t ipcss;  // IP checksum start
    uint8_t ipcso;  // IP checksum offset (where to store it)
    uint16_t ipcse; // IP checksum end, inclusive (0: to the end of the frame)
    uint8_t tucss;  // TCP/UDP checksum start
    uint8_t tucso;  // TCP/UDP checksum offset
    uint16_t tucse; // TCP/UDP checksum end, inclusive (0: to the end of the frame)
    uint32_t paylen_dtyp_tucmd; // PAYLEN 19:0, DTYP 23:20 (0000), TUCMD 31:24
    uint8_t status;
    uint8_t hdrlen; // TSO only
    uint16_t mss;   // TSO only
};
static_assert(sizeof(TxContextDescriptor) == 16);

namespace tucmd {
constexpr uint8_t tcp = 1u << 0; // 1: TCP, 0: UDP
constexpr uint8_t ip = 1u << 1;  // 1: IPv4
constexpr uint8_t tse = 1u << 2; // TCP segmentation
constexpr uint8_t rs = 1u << 3;
constexpr uint8_t dext = 1u << 5; // must be set
constexpr uint8_t ide = 1u << 7;
} // namespace tucmd

// TCP/IP data descriptor (3.3.7).
struct TxDataDescriptor {
    uint64_t buffer;
    uint32_t length_dtyp_dcmd; // DTALEN 19:0, DTYP 23:20 (0001), DCMD 31:24 (tx_command bits)
    uint8_t status;
    uint8_t popts; // packet options
    uint16_t special;
};
static_assert(sizeof(TxDataDescriptor) == 16);

constexpr uint32_t dtyp_context = 0x0u << 20;
constexpr uint32_t dtyp_data = 0x1u << 20;
constexpr uint32_t dtyp_mask = 0xFu << 20;

namespace popts {
constexpr uint8_t ixsm = 1u << 0; // insert the IP checksum
constexpr uint8_t txsm = 1u << 1; // insert the TCP/UDP checksum
} // namespace popts

} // namespace e1000
