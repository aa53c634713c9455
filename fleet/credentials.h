// NATS credentials from a file only root can read (docs/fleet.md, "Credentials"). One
// `key value` per line, '#' comments:
//   user NAME / password SECRET      user and password
//   token SECRET                     a token
//   nkey PUBLIC / nkey_seed FILE     an NKey (the seed file is read by the NATS client)
//   creds FILE                       a user JWT .creds file
//   tls_ca FILE                      TLS to the servers, checked against this CA bundle
// The file must be a regular file owned by root (or the daemon's user) with no group or
// other permission bits: a secret anyone can read is refused, not used.
#pragma once

#include <string>

namespace dnswash::fleet {

struct Credentials {
  std::string user, password, token, nkey, nkey_seed, creds, tls_ca;
};

// Throws dnswash::Error with the line or the permission at fault.
Credentials read_credentials(const std::string &path);

}  // namespace dnswash::fleet
