-- A database made by Gatehouse before internal/store/sqlstore (its
-- internal/store/postgres package, schema version 6), dumped with
-- pg_dump --no-owner --no-privileges --no-comments --inserts. See
-- TestOpenTodaysDatabase.
--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: auth_codes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.auth_codes (
    hash bytea NOT NULL,
    client_id text NOT NULL COLLATE pg_catalog."C",
    user_id text NOT NULL COLLATE pg_catalog."C",
    session_id text DEFAULT ''::text NOT NULL COLLATE pg_catalog."C",
    redirect_uri text NOT NULL,
    code_challenge text DEFAULT ''::text NOT NULL,
    code_challenge_method text DEFAULT ''::text NOT NULL,
    scope text DEFAULT ''::text NOT NULL,
    audiences text[] DEFAULT '{}'::text[] NOT NULL,
    nonce text DEFAULT ''::text NOT NULL,
    auth_time bigint NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    used_at bigint,
    grant_id text DEFAULT ''::text NOT NULL COLLATE pg_catalog."C"
);


--
-- Name: clients; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.clients (
    id text NOT NULL COLLATE pg_catalog."C",
    secret_hash bytea NOT NULL,
    name text DEFAULT ''::text NOT NULL,
    grant_types text[] DEFAULT '{}'::text[] NOT NULL,
    redirect_uris text[] DEFAULT '{}'::text[] NOT NULL,
    scopes text[] DEFAULT '{}'::text[] NOT NULL,
    audiences text[] DEFAULT '{}'::text[] NOT NULL,
    token_endpoint_auth_method text NOT NULL,
    first_party boolean DEFAULT false NOT NULL,
    created_at bigint NOT NULL,
    post_logout_redirect_uris text[] DEFAULT '{}'::text[] NOT NULL,
    id_token_signed_response_alg text DEFAULT ''::text NOT NULL
);


--
-- Name: consents; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.consents (
    user_id text NOT NULL COLLATE pg_catalog."C",
    client_id text NOT NULL COLLATE pg_catalog."C",
    scopes text[] DEFAULT '{}'::text[] NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL
);


--
-- Name: job_leases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.job_leases (
    name text NOT NULL,
    holder text NOT NULL,
    expires_at bigint NOT NULL
);


--
-- Name: refresh_tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.refresh_tokens (
    hash bytea NOT NULL,
    session_id text NOT NULL COLLATE pg_catalog."C",
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    rotated_at bigint,
    sealed_successor bytea,
    CONSTRAINT refresh_tokens_check CHECK (((rotated_at IS NULL) = (sealed_successor IS NULL)))
);


--
-- Name: revocations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.revocations (
    seq bigint NOT NULL,
    session_id text DEFAULT ''::text NOT NULL,
    user_id text DEFAULT ''::text NOT NULL,
    token_id text DEFAULT ''::text NOT NULL,
    at bigint NOT NULL,
    expires bigint NOT NULL,
    CONSTRAINT revocations_check CHECK ((((((session_id <> ''::text))::integer + ((user_id <> ''::text))::integer) + ((token_id <> ''::text))::integer) = 1))
);


--
-- Name: revocations_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.revocations ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.revocations_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: schema_migrations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    applied_at bigint NOT NULL
);


--
-- Name: sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sessions (
    id text NOT NULL COLLATE pg_catalog."C",
    secret_hash bytea,
    kind text NOT NULL,
    user_id text NOT NULL COLLATE pg_catalog."C",
    client_id text DEFAULT ''::text NOT NULL COLLATE pg_catalog."C",
    scope text DEFAULT ''::text NOT NULL,
    created_at bigint NOT NULL,
    last_seen_at bigint NOT NULL,
    idle_expires_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    user_agent text DEFAULT ''::text NOT NULL,
    ip text DEFAULT ''::text NOT NULL,
    data jsonb DEFAULT '{}'::jsonb NOT NULL,
    data_version bigint DEFAULT 0 NOT NULL,
    audiences text[] DEFAULT '{}'::text[] NOT NULL,
    auth_time bigint,
    auth_session_id text DEFAULT ''::text NOT NULL COLLATE pg_catalog."C"
);


--
-- Name: signing_keys; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.signing_keys (
    id text NOT NULL COLLATE pg_catalog."C",
    algorithm text NOT NULL,
    sealed_private_key bytea NOT NULL,
    public_jwk bytea NOT NULL,
    created_at bigint NOT NULL,
    retired_at bigint,
    expires_at bigint
);


--
-- Name: users; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.users (
    id text NOT NULL COLLATE pg_catalog."C",
    email text NOT NULL COLLATE pg_catalog."C",
    password_hash text NOT NULL,
    claims jsonb DEFAULT '{}'::jsonb NOT NULL,
    disabled boolean DEFAULT false NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    CONSTRAINT users_claims_check CHECK ((jsonb_typeof(claims) = 'object'::text))
);


--
-- Data for Name: auth_codes; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.auth_codes VALUES ('\x0808080808080808080808080808080808080808080808080808080808080808', 'c-fixture', '3d767426c4cc7acbcf7a0f107822c370', 's-cookie', 'https://app.example.com/cb?x=1,2', 'abc', 'S256', 'openid', '{https://api.example.com}', 'n-1', 1795888118970, 1795888118970, 1795888178970, NULL, '');


--
-- Data for Name: clients; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.clients VALUES ('c-fixture', '\x0707070707070707070707070707070707070707070707070707070707070707', 'Fixture app', '{authorization_code,refresh_token}', '{"https://app.example.com/cb?x=1,2","https://app.example.com/\"q\""}', '{openid,offline_access}', '{}', 'client_secret_basic', true, 1795888118970, '{https://app.example.com/bye}', 'EdDSA');


--
-- Data for Name: consents; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.consents VALUES ('3d767426c4cc7acbcf7a0f107822c370', 'c-fixture', '{openid,offline_access}', 1795888118970, 1795888118970);


--
-- Data for Name: job_leases; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.job_leases VALUES ('sweep', 'instance-1', 1795891718970);


--
-- Data for Name: refresh_tokens; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.refresh_tokens VALUES ('\x0404040404040404040404040404040404040404040404040404040404040404', 'g-token', 1795888118970, 1795891718970, 1795888178970, '\x0606060606060606060606060606060606060606060606060606060606060606');
INSERT INTO public.refresh_tokens VALUES ('\x0505050505050505050505050505050505050505050505050505050505050505', 'g-token', 1795888178970, 1795895318970, NULL, NULL);


--
-- Data for Name: revocations; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.revocations OVERRIDING SYSTEM VALUE VALUES (1, 's-gone', '', '', 1795888118970, 1795891718970);


--
-- Data for Name: schema_migrations; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.schema_migrations VALUES (1, 'users_sessions', 1796539116014);
INSERT INTO public.schema_migrations VALUES (2, 'keys_refresh_revocations', 1796539116068);
INSERT INTO public.schema_migrations VALUES (3, 'clients', 1796539116097);
INSERT INTO public.schema_migrations VALUES (4, 'oauth_codes_consents', 1796539116128);
INSERT INTO public.schema_migrations VALUES (5, 'job_leases', 1796539116142);
INSERT INTO public.schema_migrations VALUES (6, 'grant_auth_time', 1796539116147);


--
-- Data for Name: sessions; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.sessions VALUES ('s-cookie', '\x0101010101010101010101010101010101010101010101010101010101010101', 'cookie', '3d767426c4cc7acbcf7a0f107822c370', '', '', 1795888118970, 1795888178970, 1795974518970, 1798480118970, 'Mozilla/5.0', '192.0.2.1', '{"theme": "dark"}', 3, '{}', 1795888118970, '');
INSERT INTO public.sessions VALUES ('g-token', NULL, 'token', '3d767426c4cc7acbcf7a0f107822c370', 'c-fixture', 'openid offline_access', 1795888118970, 1795888118970, 1795974518970, 1798480118970, '', '', '{}', 0, '{https://api.example.com,"b,c \"d\""}', 1795888117970, 's-cookie');


--
-- Data for Name: signing_keys; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.signing_keys VALUES ('k-retired', 'EdDSA', '\x0303030303030303030303030303030303030303030303030303030303030303', '\x7b226b7479223a224f4b50222c22637276223a2245643235353139222c2278223a2242424242227d', 1795884518970, 1795888118970, 1795891718970);
INSERT INTO public.signing_keys VALUES ('k-current', 'EdDSA', '\x0202020202020202020202020202020202020202020202020202020202020202', '\x7b226b7479223a224f4b50222c22637276223a2245643235353139222c2278223a2241414141227d', 1795888118970, NULL, NULL);


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.users VALUES ('3d767426c4cc7acbcf7a0f107822c370', 'alice@example.com', '$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2g', '{"n": 1.5, "name": "Alice", "groups": ["a", "b"]}', false, 1795888118970, 1795888178970);


--
-- Name: revocations_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.revocations_seq_seq', 1, true);


--
-- Name: auth_codes auth_codes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.auth_codes
    ADD CONSTRAINT auth_codes_pkey PRIMARY KEY (hash);


--
-- Name: clients clients_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.clients
    ADD CONSTRAINT clients_pkey PRIMARY KEY (id);


--
-- Name: consents consents_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.consents
    ADD CONSTRAINT consents_pkey PRIMARY KEY (user_id, client_id);


--
-- Name: job_leases job_leases_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.job_leases
    ADD CONSTRAINT job_leases_pkey PRIMARY KEY (name);


--
-- Name: refresh_tokens refresh_tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.refresh_tokens
    ADD CONSTRAINT refresh_tokens_pkey PRIMARY KEY (hash);


--
-- Name: revocations revocations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.revocations
    ADD CONSTRAINT revocations_pkey PRIMARY KEY (seq);


--
-- Name: schema_migrations schema_migrations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);


--
-- Name: sessions sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (id);


--
-- Name: signing_keys signing_keys_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.signing_keys
    ADD CONSTRAINT signing_keys_pkey PRIMARY KEY (id);


--
-- Name: users users_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (id);


--
-- Name: auth_codes_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX auth_codes_expires_at ON public.auth_codes USING btree (expires_at);


--
-- Name: clients_created_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX clients_created_at ON public.clients USING btree (created_at, id);


--
-- Name: refresh_tokens_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX refresh_tokens_expires_at ON public.refresh_tokens USING btree (expires_at);


--
-- Name: refresh_tokens_session_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX refresh_tokens_session_id ON public.refresh_tokens USING btree (session_id);


--
-- Name: revocations_expires; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX revocations_expires ON public.revocations USING btree (expires);


--
-- Name: sessions_client_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_client_id ON public.sessions USING btree (client_id, created_at) WHERE (client_id <> ''::text);


--
-- Name: sessions_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_expires_at ON public.sessions USING btree (expires_at);


--
-- Name: sessions_idle_expires_at; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_idle_expires_at ON public.sessions USING btree (idle_expires_at);


--
-- Name: sessions_secret_hash; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX sessions_secret_hash ON public.sessions USING btree (secret_hash);


--
-- Name: sessions_user_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX sessions_user_id ON public.sessions USING btree (user_id, created_at);


--
-- Name: users_email; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX users_email ON public.users USING btree (email);


--
-- PostgreSQL database dump complete
--


