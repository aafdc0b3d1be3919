// Register offsets (from BAR0) and bit names of the Intel 8254x family, from
// the "PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's
// Manual" (317453, rev. 4.0), chapter 13 (register descriptions). Only what
// the driver uses, plus the neighbours that make a register's layout clear.
#pragma once

#include <cstdint>

namespace e1000::reg {

// General (13.4.1 - 13.4.4)
constexpr uint32_t ctrl = 0x0000;     // device control
constexpr uint32_t status = 0x0008;   // device status (read-only)
constexpr uint32_t eecd = 0x0010;     // EEPROM/flash control and data
constexpr uint32_t eerd = 0x0014;     // EEPROM read (not on the 82544GC/EI)
constexpr uint32_t ctrl_ext = 0x0018; // extended device control
constexpr uint32_t mdic = 0x0020;     // MDI control
constexpr uint32_t fcal = 0x0028;     // flow control address low
constexpr uint32_t fcah = 0x002C;     // flow control address high
constexpr uint32_t fct = 0x0030;      // flow control type
constexpr uint32_t vet = 0x0038;      // VLAN ether type
constexpr uint32_t fcttv = 0x0170;    // flow control transmit timer value
constexpr uint32_t txcw = 0x0178;     // transmit configuration word (TBI/SerDes auto-negotiation)
constexpr uint32_t rxcw = 0x0180;     // receive configuration word

// Interrupts (13.4.17 - 13.4.21)
constexpr uint32_t icr = 0x00C0; // interrupt cause read (clear on read)
constexpr uint32_t itr = 0x00C4; // interrupt throttling (not on the 82544GC/EI)
constexpr uint32_t ics = 0x00C8; // interrupt cause set
constexpr uint32_t ims = 0x00D0; // interrupt mask set/read
constexpr uint32_t imc = 0x00D8; // interrupt mask clear

// Receive (13.4.22 on)
constexpr uint32_t rctl = 0x0100;   // receive control
constexpr uint32_t fcrtl = 0x2160;  // flow control receive threshold low
constexpr uint32_t fcrth = 0x2168;  // flow control receive threshold high
constexpr uint32_t rdbal = 0x2800;  // receive descriptor base, low 32 bits
constexpr uint32_t rdbah = 0x2804;  // receive descriptor base, high 32 bits
constexpr uint32_t rdlen = 0x2808;  // receive ring length in bytes (multiple of 128)
constexpr uint32_t rdh = 0x2810;    // receive descriptor head
constexpr uint32_t rdt = 0x2818;    // receive descriptor tail
constexpr uint32_t rdtr = 0x2820;   // receive delay timer
constexpr uint32_t rxdctl = 0x2828; // receive descriptor control
constexpr uint32_t radv = 0x282C;   // receive interrupt absolute delay
constexpr uint32_t rxcsum = 0x5000; // receive checksum control
constexpr uint32_t mta = 0x5200;    // multicast table array: 128 registers
constexpr uint32_t mta_count = 128;
constexpr uint32_t ral0 = 0x5400; // receive address 0, low
constexpr uint32_t rah0 = 0x5404; // receive address 0, high
constexpr uint32_t ral(uint32_t n) { return ral0 + 8 * n; }
constexpr uint32_t rah(uint32_t n) { return rah0 + 8 * n; }
constexpr uint32_t receive_addresses = 16;

// Transmit (13.4.33 on)
constexpr uint32_t tctl = 0x0400;   // transmit control
constexpr uint32_t tipg = 0x0410;   // transmit inter-packet gap
constexpr uint32_t aifs = 0x0458;   // adaptive IFS throttle
constexpr uint32_t tdbal = 0x3800;  // transmit descriptor base, low 32 bits
constexpr uint32_t tdbah = 0x3804;  // transmit descriptor base, high 32 bits
constexpr uint32_t tdlen = 0x3808;  // transmit ring length in bytes (multiple of 128)
constexpr uint32_t tdh = 0x3810;    // transmit descriptor head
constexpr uint32_t tdt = 0x3818;    // transmit descriptor tail
constexpr uint32_t tidv = 0x3820;   // transmit interrupt delay value
constexpr uint32_t txdctl = 0x3828; // transmit descriptor control
constexpr uint32_t tadv = 0x382C;   // transmit absolute interrupt delay

// Statistics (13.7): every counter clears when read. The 64-bit octet
// counters are a low/high pair; reading the high half clears both.
namespace stat {
constexpr uint32_t crcerrs = 0x4000;  // CRC errors
constexpr uint32_t algnerrc = 0x4004; // alignment errors
constexpr uint32_t symerrs = 0x4008;  // symbol errors
constexpr uint32_t rxerrc = 0x400C;   // receive errors
constexpr uint32_t mpc = 0x4010;      // missed packets (no room in the receive FIFO)
constexpr uint32_t scc = 0x4014;      // single collisions
constexpr uint32_t ecol = 0x4018;     // excessive collisions
constexpr uint32_t mcc = 0x401C;      // multiple collisions
constexpr uint32_t latecol = 0x4020;  // late collisions
constexpr uint32_t colc = 0x4028;     // collisions
constexpr uint32_t dc = 0x4030;       // defers
constexpr uint32_t tncrs = 0x4034;    // transmit with no carrier sense
constexpr uint32_t sec = 0x4038;      // sequence errors
constexpr uint32_t cexterr = 0x403C;  // carrier extension errors
constexpr uint32_t rlec = 0x4040;     // receive length errors
constexpr uint32_t xonrxc = 0x4048;   // XON received
constexpr uint32_t xontxc = 0x404C;   // XON transmitted
constexpr uint32_t xoffrxc = 0x4050;  // XOFF received
constexpr uint32_t xofftxc = 0x4054;  // XOFF transmitted
constexpr uint32_t fcruc = 0x4058;    // flow control received unsupported
constexpr uint32_t gprc = 0x4074;     // good packets received
constexpr uint32_t bprc = 0x4078;     // broadcast packets received
constexpr uint32_t mprc = 0x407C;     // multicast packets received
constexpr uint32_t gptc = 0x4080;     // good packets transmitted
constexpr uint32_t gorcl = 0x4088;    // good octets received, low
constexpr uint32_t gorch = 0x408C;    // good octets received, high
constexpr uint32_t gotcl = 0x4090;    // good octets transmitted, low
constexpr uint32_t gotch = 0x4094;    // good octets transmitted, high
constexpr uint32_t rnbc = 0x40A0;     // receive no buffers (no free descriptor)
constexpr uint32_t ruc = 0x40A4;      // receive undersize
constexpr uint32_t rfc = 0x40A8;      // receive fragments
constexpr uint32_t roc = 0x40AC;      // receive oversize
constexpr uint32_t rjc = 0x40B0;      // receive jabber
constexpr uint32_t torl = 0x40C0;     // total octets received, low
constexpr uint32_t torh = 0x40C4;     // total octets received, high
constexpr uint32_t totl = 0x40C8;     // total octets transmitted, low
constexpr uint32_t toth = 0x40CC;     // total octets transmitted, high
constexpr uint32_t tpr = 0x40D0;      // total packets received
constexpr uint32_t tpt = 0x40D4;      // total packets transmitted
constexpr uint32_t mptc = 0x40F0;     // multicast packets transmitted
constexpr uint32_t bptc = 0x40F4;     // broadcast packets transmitted
constexpr uint32_t tsctc = 0x40F8;    // TCP segmentation contexts transmitted
constexpr uint32_t tsctfc = 0x40FC;   // TCP segmentation context failures
constexpr uint32_t first = 0x4000;
constexpr uint32_t last = 0x40FC;
} // namespace stat

// CTRL (13.4.1)
namespace ctrl_bits {
constexpr uint32_t fd = 1u << 0;       // full duplex (when not auto-detected)
constexpr uint32_t lrst = 1u << 3;     // link reset
constexpr uint32_t asde = 1u << 5;     // auto-speed detection enable
constexpr uint32_t slu = 1u << 6;      // set link up
constexpr uint32_t ilos = 1u << 7;     // invert loss-of-signal
constexpr uint32_t frcspd = 1u << 11;  // force speed
constexpr uint32_t frcdplx = 1u << 12; // force duplex
constexpr uint32_t rst = 1u << 26;     // global device reset (self-clearing)
constexpr uint32_t rfce = 1u << 27;    // receive flow control enable
constexpr uint32_t tfce = 1u << 28;    // transmit flow control enable
constexpr uint32_t vme = 1u << 30;     // VLAN mode enable
constexpr uint32_t phy_rst = 1u << 31; // PHY reset
} // namespace ctrl_bits

// STATUS (13.4.2)
namespace status_bits {
constexpr uint32_t fd = 1u << 0; // full duplex
constexpr uint32_t lu = 1u << 1; // link up
constexpr uint32_t function_id_shift = 2;
constexpr uint32_t function_id_mask = 3u << 2; // 82546GB/EB: which port this is
constexpr uint32_t txoff = 1u << 4;            // transmission paused (flow control)
constexpr uint32_t tbimode = 1u << 5;          // TBI/SerDes mode
constexpr uint32_t speed_shift = 6;
constexpr uint32_t speed_mask = 3u << 6; // 00: 10, 01: 100, 10 or 11: 1000 Mb/s
} // namespace status_bits

// TXCW: what a fiber/SerDes port advertises in auto-negotiation.
namespace txcw_bits {
constexpr uint32_t full_duplex = 1u << 5;
constexpr uint32_t ane = 1u << 31; // auto-negotiation enable
} // namespace txcw_bits

// EECD (13.4.3)
namespace eecd_bits {
constexpr uint32_t sk = 1u << 0;       // clock to the EEPROM
constexpr uint32_t cs = 1u << 1;       // chip select
constexpr uint32_t di = 1u << 2;       // data in (to the EEPROM)
constexpr uint32_t do_ = 1u << 3;      // data out (from the EEPROM)
constexpr uint32_t ee_req = 1u << 6;   // request direct EEPROM access
constexpr uint32_t ee_gnt = 1u << 7;   // direct access granted
constexpr uint32_t ee_pres = 1u << 8;  // an EEPROM is present
constexpr uint32_t ee_size = 1u << 9;  // larger EEPROM
} // namespace eecd_bits

// EERD (13.4.4). Two layouts: most parts put the word address in bits 15:8
// and DONE in bit 4; the 82541xx and 82547GI/EI put the address in bits 15:2
// and DONE in bit 1. The data is in bits 31:16 in both.
namespace eerd_bits {
constexpr uint32_t start = 1u << 0;
constexpr uint32_t done = 1u << 4;
constexpr uint32_t address_shift = 8;
constexpr uint32_t done_wide = 1u << 1;
constexpr uint32_t address_shift_wide = 2;
constexpr uint32_t data_shift = 16;
} // namespace eerd_bits

// ICR / ICS / IMS / IMC (13.4.17 - 13.4.21): the same bit in all four.
namespace interrupt {
constexpr uint32_t txdw = 1u << 0;     // transmit descriptor written back
constexpr uint32_t txqe = 1u << 1;     // transmit queue empty
constexpr uint32_t lsc = 1u << 2;      // link status change
constexpr uint32_t rxseq = 1u << 3;    // receive sequence error
constexpr uint32_t rxdmt0 = 1u << 4;   // receive descriptors below the minimum threshold
constexpr uint32_t rxo = 1u << 6;      // receiver overrun
constexpr uint32_t rxt0 = 1u << 7;     // receiver timer: frames were stored
constexpr uint32_t mdac = 1u << 9;     // MDI/O access complete
constexpr uint32_t rxcfg = 1u << 10;   // receiving /C/ ordered sets (TBI)
constexpr uint32_t phyint = 1u << 12;  // PHY interrupt
constexpr uint32_t gpi_sdp6 = 1u << 13;
constexpr uint32_t gpi_sdp7 = 1u << 14;
constexpr uint32_t txd_low = 1u << 15; // transmit descriptors below the low threshold
constexpr uint32_t srpd = 1u << 16;    // small receive packet detected
constexpr uint32_t all = 0xFFFFFFFFu;
} // namespace interrupt

// RCTL (13.4.22)
namespace rctl_bits {
constexpr uint32_t en = 1u << 1;    // receiver enable
constexpr uint32_t sbp = 1u << 2;   // store bad packets
constexpr uint32_t upe = 1u << 3;   // unicast promiscuous
constexpr uint32_t mpe = 1u << 4;   // multicast promiscuous
constexpr uint32_t lpe = 1u << 5;   // long packet enable (frames over 1522 bytes)
constexpr uint32_t lbm_mask = 3u << 6;
constexpr uint32_t rdmts_half = 0u << 8; // RXDMT0 when free descriptors fall below 1/2 of the ring
constexpr uint32_t rdmts_quarter = 1u << 8;
constexpr uint32_t rdmts_eighth = 2u << 8;
constexpr uint32_t mo_mask = 3u << 12; // multicast offset (which address bits index the MTA)
constexpr uint32_t bam = 1u << 15;     // accept broadcast
constexpr uint32_t bsize_2048 = 0u << 16; // with BSEX clear
constexpr uint32_t bsize_1024 = 1u << 16;
constexpr uint32_t bsize_512 = 2u << 16;
constexpr uint32_t bsize_256 = 3u << 16;
constexpr uint32_t bsize_mask = 3u << 16;
constexpr uint32_t vfe = 1u << 18;   // VLAN filter enable
constexpr uint32_t cfien = 1u << 19; // canonical form indicator enable
constexpr uint32_t cfi = 1u << 20;
constexpr uint32_t dpf = 1u << 22;   // discard pause frames
constexpr uint32_t pmcf = 1u << 23;  // pass MAC control frames
constexpr uint32_t bsex = 1u << 25;  // buffer size extension (x16)
constexpr uint32_t secrc = 1u << 26; // strip the Ethernet CRC
} // namespace rctl_bits

// RXCSUM
namespace rxcsum_bits {
constexpr uint32_t pcss_mask = 0xFF; // packet checksum start
constexpr uint32_t ipofld = 1u << 8; // IP checksum offload
constexpr uint32_t tuofld = 1u << 9; // TCP/UDP checksum offload
} // namespace rxcsum_bits

// RAH
namespace rah_bits {
constexpr uint32_t av = 1u << 31; // address valid
constexpr uint32_t address_mask = 0xFFFF;
} // namespace rah_bits

// TCTL (13.4.33)
namespace tctl_bits {
constexpr uint32_t en = 1u << 1;  // transmitter enable
constexpr uint32_t psp = 1u << 3; // pad short packets
constexpr uint32_t ct_shift = 4;  // collision threshold, bits 11:4
constexpr uint32_t cold_shift = 12; // collision distance, bits 21:12
constexpr uint32_t swxoff = 1u << 22;
constexpr uint32_t rtlc = 1u << 24; // retransmit on late collision
// Recommended values (13.4.33): 15 retries; a collision distance of 64 byte
// times in full duplex and 512 in half duplex.
constexpr uint32_t ct_recommended = 0x0F;
constexpr uint32_t cold_full_duplex = 0x40;
constexpr uint32_t cold_half_duplex = 0x200;
} // namespace tctl_bits

// TIPG (13.4.34): values for IEEE 802.3 copper links. The 82544GC/EI wants
// IPGT 8; every later part 10.
namespace tipg_bits {
constexpr uint32_t ipgt_copper = 10;
constexpr uint32_t ipgt_copper_82544 = 8;
constexpr uint32_t ipgt_fiber = 6;
constexpr uint32_t ipgr1 = 8;
constexpr uint32_t ipgr2 = 6;
constexpr uint32_t ipgr1_shift = 10;
constexpr uint32_t ipgr2_shift = 20;
} // namespace tipg_bits

// ITR (13.4.18; the manual asks for it rather than RDTR/RADV): the minimum gap between interrupts in units of 256 ns;
// 0 turns throttling off.
constexpr uint32_t itr_unit_ns = 256;
constexpr uint32_t itr_max = 0xFFFF;

} // namespace e1000::reg
