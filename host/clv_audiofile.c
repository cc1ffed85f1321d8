/* SPDX-License-Identifier: ISC */ typedef int clv_placeholder_af;
