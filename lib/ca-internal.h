/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The signing CA and the X.509 helpers ca.c and ek-cert.c share (OpenSSL). */
#ifndef VTPM_CA_INTERNAL_H
#define VTPM_CA_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

struct vtpm_ca {
	EVP_PKEY *key;
	X509 *cert;
};

/* A random positive serial number (RFC 5280, 4.1.2.2). */
int vtpm_x509_set_serial(X509 *x);
/* Valid from now on, without an end (RFC 5280, 4.1.2.5). */
int vtpm_x509_set_validity(X509 *x);
/* Add an extension written in OpenSSL's configuration syntax. */
int vtpm_x509_add_ext(X509 *x, X509 *issuer, int nid, const char *value);

#endif
