// dw_config_map[0]: runtime switches (dry-run, allow-chaos, allow-responses) and the matcher's
// depth summary.
#pragma once

#include <cstdint>

#include "dnswash_abi.h"

namespace dnswash {

dw_config read_config(int config_fd);
void write_config(int config_fd, const dw_config &cfg);
// Sets or clears DW_CFG_* bits, keeping everything else.
void set_config_flag(int config_fd, uint32_t flag, bool on);

}  // namespace dnswash
